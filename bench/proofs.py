"""Inclusion and consistency proof time at large log sizes (goal <= 1 ms each).

Builds a durable log of each size (in 10k-entry batches), then times proofs for random
indices and sizes from the stored interior nodes.
Run: .venv/bin/python bench/proofs.py [--sizes 1000000 10000000] [--dir DIR]
"""

import argparse
import os
import random
import tempfile
import time
from pathlib import Path

from rich.progress import Progress

from ledger.tlog import merkle
from ledger.tlog.note import Signer
from storage.sqlite.log import SqliteLog


def build(path: Path, size: int) -> SqliteLog:
    log = SqliteLog(path, "bench/log", Signer("bench/log", b"\x01" * 32))
    with Progress(transient=True) as bar:
        task = bar.add_task(f"building {size:,}", total=size, completed=log.size)
        while log.size < size:
            n = min(10_000, size - log.size)
            log.append([b"entry %d" % (log.size + i) for i in range(n)])
            bar.update(task, completed=log.size)
    return log


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--dir", type=Path, help="keep the built logs here (reused next time)")
    ap.add_argument("--samples", type=int, default=2000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = args.dir or Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        for size in args.sizes:
            t0 = time.perf_counter()
            log = build(base / f"log-{size}.sqlite", size)
            built = time.perf_counter() - t0
            root = log.root()
            rnd = random.Random(size)
            cases = [(rnd.randrange(size), rnd.randrange(1, size)) for _ in range(args.samples)]
            t0 = time.perf_counter()
            for index, _ in cases:
                path = log.inclusion_proof(index)
            incl = (time.perf_counter() - t0) / len(cases)
            merkle.verify_inclusion(index, size, merkle.leaf_hash(log.entry(index)), path, root)
            t0 = time.perf_counter()
            for _, old in cases:
                cpath = log.consistency_proof(old)
            cons = (time.perf_counter() - t0) / len(cases)
            merkle.verify_consistency(old, size, log.root(old), root, cpath)
            print(
                f"size {size:>12,}: inclusion {incl * 1e3:.3f} ms, consistency {cons * 1e3:.3f} ms "
                f"(mean of {len(cases)}; built in {built:.0f} s, {os.path.getsize(log.path) / 2**20:,.0f} MiB)"
            )


if __name__ == "__main__":
    main()
