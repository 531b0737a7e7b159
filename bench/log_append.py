"""Durable log appends per second (goal >= 10,000/s), on SQLite or PostgreSQL.

Every append commits one durable transaction holding the entries and their new tree
nodes (SQLite: an fsynced WAL commit; PostgreSQL: the sequencer's commit, with the tree
head row locked); a checkpoint is signed at most once a second (storage/log.py). Prints
entries/s for several batch sizes, batch 1 being the fsync-bound worst case, and for many
threads appending one entry each, which each writer group-commits: the threads are spread
over `--writers` processes, each with its own log store (and on PostgreSQL its own
connection pool), as replicas would be. On PostgreSQL one of them holds the sequencer's
lock and integrates its own appends with those the others submit (storage/postgres/sequencer.py).
Run: .venv/bin/python bench/log_append.py [--entries 50000] [--threads 32] [--backend postgresql --writers 2]
"""

import argparse
import contextlib
import multiprocessing
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.synchronize import Barrier
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


def _writer(where: str, count: int, threads: int, start: Barrier) -> None:
    """One writer process: `threads` threads append `count` single entries to its store."""
    log = _open(where)
    start.wait()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda _: log.append([ENTRY]), range(count)))
    _close(log)


def run(backend: str, entries: int, threads: int, writers: int, server: PostgresServer | None) -> None:
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
    n = min(entries, 20_000) // writers * writers
    with fresh_log(backend, server) as where:
        forked = multiprocessing.get_context("fork")
        start_line = forked.Barrier(writers + 1)
        procs = [forked.Process(target=_writer, args=(where, n // writers, threads // writers, start_line)) for _ in range(writers)]
        for p in procs:
            p.start()
        start_line.wait()
        start = time.perf_counter()
        for p in procs:
            p.join()
        elapsed = time.perf_counter() - start
        if any(p.exitcode for p in procs):
            raise SystemExit("a writer process failed")
        log = _open(where)
        checkpoints = len(log.backend.signed_roots()) - 1
        check = log.check()
        _close(log)
    print(f"{backend} {threads} threads over {writers} writer(s), one entry each: {n / elapsed:>10,.0f} durable appends/s  "
          f"({n} entries, {checkpoints} checkpoints signed, {check} checked)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=50_000)
    ap.add_argument("--threads", type=int, default=32)
    ap.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--writers", type=int, default=1, help="log stores the threads are spread over (replicas)")
    args = ap.parse_args()
    with PostgresServer() if args.backend == "postgresql" else contextlib.nullcontext() as server:
        run(args.backend, args.entries, args.threads, args.writers, server)


if __name__ == "__main__":
    main()
