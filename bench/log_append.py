"""Durable log appends per second (goal >= 10,000/s), on SQLite or PostgreSQL.

Every append commits one durable transaction holding the entries and their new tree
nodes (SQLite: an fsynced WAL commit; PostgreSQL: the sequencer's commit, with the tree
head row locked); a checkpoint is signed at most once a second (storage/log.py). Prints
entries/s for several batch sizes, batch 1 being the fsync-bound worst case, and for
`--threads` concurrent writers appending one entry each for `--seconds`, which each process
group-commits: the writers are greenlets spread over `--writers` processes, each patched
for gevent and holding its own log store (and on PostgreSQL its own connection pool), as
the operator's gevent workers and replicas are. On PostgreSQL one process holds the
sequencer's lock and integrates its own appends with those the others submit
(storage/postgres/sequencer.py).
Run: .venv/bin/python bench/log_append.py [--entries 50000] [--threads 32] [--seconds 10] [--backend postgresql --writers 2]
"""

import argparse
import contextlib
import multiprocessing
import os
import sys
import tempfile
import time
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devchain.postgres import PostgresServer  # noqa: E402
from ledger.tlog.note import Signer  # noqa: E402
from storage.log import LogStore  # noqa: E402
from storage.postgres.log import PostgresLog  # noqa: E402
from storage.postgres.migrate import migrate  # noqa: E402
from storage.postgres.pool import PostgresDatabase  # noqa: E402
from storage.sqlite.log import SqliteLog  # noqa: E402

ENTRY = b'{"block":123,"consent_id":"0x' + b"ab" * 32 + b'","type":"data.read"}'


SEED = os.urandom(32)  # the log's signing key, the same in every writer process


def _open(where: str) -> LogStore:
    """A log store on `where`: a SQLite file or a PostgreSQL URL (its own pool)."""
    signer = Signer("bench/log", SEED)
    if where.startswith("postgresql://"):
        return PostgresLog(PostgresDatabase(where, pool_size=4), "bench/log", signer)
    return SqliteLog(where, "bench/log", signer)


@contextlib.contextmanager
def fresh_log(backend: str, server: PostgresServer | None):
    """Where a new, empty log lives (opened once, so its schema and first checkpoint exist)."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as d:
            where = os.path.join(d, "log.sqlite")
            _open(where)
            yield where
        return
    assert server is not None
    where = server.create_database(f"bench_{os.urandom(4).hex()}")
    db = PostgresDatabase(where)
    migrate(db)
    db.close()
    yield where


def _close(log: LogStore) -> None:
    """Close a PostgreSQL store's pool (and its sequencer's session) before the server goes."""
    if isinstance(log, PostgresLog):
        log.backend.db.close()


def _writer(where: str, greenlets: int, start_at: float, stop_at: float, done: Synchronized) -> None:
    """One writer process, run as the operator's gunicorn gevent worker runs: patched for
    gevent after the fork, `greenlets` greenlets each appending one entry after another
    from `start_at` until `stop_at` (wall clock), each append durable before the next."""
    from gevent import monkey

    monkey.patch_all(ssl=False)  # (nothing here speaks TLS; ssl was imported before the fork)
    import gevent.pool

    log = _open(where)
    log.append([ENTRY])  # the pool, the sequencer's session and its lock (if first) are ready
    time.sleep(max(0.0, start_at - time.time()))

    def appender(_: int) -> int:
        count = 0
        while time.time() < stop_at:
            log.append([ENTRY])
            count += 1
        return count

    done.value = sum(gevent.pool.Pool(greenlets).map(appender, range(greenlets)))
    _close(log)


def run(backend: str, entries: int, threads: int, writers: int, seconds: float, server: PostgresServer | None) -> None:
    for batch in (1, 10, 100, 1000):
        n = min(entries, 2000 * batch)
        with fresh_log(backend, server) as where:
            log = _open(where)
            start = time.perf_counter()
            for _ in range(n // batch):
                log.append([ENTRY] * batch)
            elapsed = time.perf_counter() - start
            _close(log)
        print(f"{backend} batch {batch:>5}: {n / elapsed:>10,.0f} durable appends/s  ({n} entries, {n // batch} commits)")
    with fresh_log(backend, server) as where:
        forked = multiprocessing.get_context("fork")
        start_at = time.time() + 3  # every process open and warm by then
        counts = [forked.Value("q", 0, lock=False) for _ in range(writers)]
        procs = [forked.Process(target=_writer, args=(where, threads // writers, start_at, start_at + seconds, done)) for done in counts]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        if any(p.exitcode for p in procs):
            raise SystemExit("a writer process failed")
        n = sum(c.value for c in counts)
        log = _open(where)
        checkpoints = len(log.backend.signed_roots()) - 1
        check = log.check()
        _close(log)
    print(f"{backend} {threads} writers over {writers} process(es), one entry each: {n / seconds:>10,.0f} durable appends/s  "
          f"({n} entries in {seconds:g} s, {checkpoints} checkpoints signed, {check} checked)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=50_000)
    ap.add_argument("--threads", type=int, default=32, help="concurrent writers (greenlets), spread over --writers processes")
    ap.add_argument("--seconds", type=float, default=10.0, help="how long the concurrent writers append")
    ap.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--writers", type=int, default=1, help="processes (replicas), each with its own log store, the writers are spread over")
    args = ap.parse_args()
    with PostgresServer() if args.backend == "postgresql" else contextlib.nullcontext() as server:
        run(args.backend, args.entries, args.threads, args.writers, args.seconds, server)


if __name__ == "__main__":
    main()
