"""Durable log appends per second (goal >= 10,000/s).

Every append commits one fsynced SQLite WAL transaction holding the entries, their new
tree nodes and a freshly signed checkpoint. Prints entries/s for several batch sizes,
batch 1 being the fsync-bound worst case, and for many threads appending one entry
each, which the store group-commits.
Run: .venv/bin/python bench/log_append.py [--entries 50000] [--threads 32]
"""

import argparse
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from ledger.tlog.note import Signer
from storage.sqlite.log import SqliteLog


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=50_000)
    ap.add_argument("--threads", type=int, default=32)
    args = ap.parse_args()
    entry = b'{"block":123,"consent_id":"0x' + b"ab" * 32 + b'","type":"data.read"}'
    for batch in (1, 10, 100, 1000):
        n = min(args.entries, 2000 * batch)
        with tempfile.TemporaryDirectory() as d:
            log = SqliteLog(os.path.join(d, "log.sqlite"), "bench/log", Signer("bench/log", os.urandom(32)))
            start = time.perf_counter()
            for _ in range(n // batch):
                log.append([entry] * batch)
            elapsed = time.perf_counter() - start
        print(f"batch {batch:>5}: {n / elapsed:>10,.0f} durable appends/s  ({n} entries, {n // batch} commits)")
    n = min(args.entries, 20_000)
    with tempfile.TemporaryDirectory() as d:
        log = SqliteLog(os.path.join(d, "log.sqlite"), "bench/log", Signer("bench/log", os.urandom(32)))
        start = time.perf_counter()
        with ThreadPoolExecutor(args.threads) as pool:
            list(pool.map(lambda _: log.append([entry]), range(n)))
        elapsed = time.perf_counter() - start
        commits = log._db().execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0] - 1
    print(f"{args.threads} threads, one entry each: {n / elapsed:>10,.0f} durable appends/s  ({n} entries, {commits} group commits)")


if __name__ == "__main__":
    main()
