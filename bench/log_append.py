"""Durable log appends per second (goal >= 10,000/s), on SQLite or PostgreSQL.

Every append commits one durable transaction holding the entries and their new tree
nodes (SQLite: an fsynced WAL commit; PostgreSQL: a commit with the tree head row locked,
as every replica appends); a checkpoint is signed at most once a second (storage/log.py). Prints entries/s for several batch
sizes, batch 1 being the fsync-bound worst case, and for many threads appending one entry
each, which each writer group-commits: on PostgreSQL the threads are spread over
`--writers` log stores with their own connection pools, as replicas would be.
Run: .venv/bin/python bench/log_append.py [--entries 50000] [--threads 32] [--backend postgresql --writers 2]
"""

import argparse
import contextlib
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devchain.postgres import PostgresServer  # noqa: E402
from ledger.tlog.note import Signer  # noqa: E402
from storage.postgres.log import PostgresLog  # noqa: E402
from storage.postgres.migrate import migrate  # noqa: E402
from storage.postgres.pool import PostgresDatabase  # noqa: E402
from storage.sqlite.log import SqliteLog  # noqa: E402

ENTRY = b'{"block":123,"consent_id":"0x' + b"ab" * 32 + b'","type":"data.read"}'


@contextlib.contextmanager
def fresh_logs(backend: str, writers: int, server: PostgresServer | None):
    """`writers` log stores on one new, empty log."""
    signer = Signer("bench/log", os.urandom(32))
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as d:
            yield [SqliteLog(os.path.join(d, "log.sqlite"), "bench/log", signer) for _ in range(writers)]
        return
    assert server is not None
    url = server.create_database(f"bench_{os.urandom(4).hex()}")
    dbs = [PostgresDatabase(url, pool_size=4) for _ in range(writers)]
    migrate(dbs[0])
    try:
        yield [PostgresLog(db, "bench/log", signer) for db in dbs]
    finally:
        for db in dbs:
            db.close()


def run(backend: str, entries: int, threads: int, writers: int, server: PostgresServer | None) -> None:
    for batch in (1, 10, 100, 1000):
        n = min(entries, 2000 * batch)
        with fresh_logs(backend, 1, server) as [log]:
            start = time.perf_counter()
            for _ in range(n // batch):
                log.append([ENTRY] * batch)
            elapsed = time.perf_counter() - start
        print(f"{backend} batch {batch:>5}: {n / elapsed:>10,.0f} durable appends/s  ({n} entries, {n // batch} commits)")
    n = min(entries, 20_000)
    with fresh_logs(backend, writers, server) as logs:
        start = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda i: logs[i % len(logs)].append([ENTRY]), range(n)))
        elapsed = time.perf_counter() - start
        checkpoints = len(logs[0].backend.signed_roots()) - 1
        check = logs[0].check()
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
