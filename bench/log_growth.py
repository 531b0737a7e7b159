"""The log's durable append rate as it grows (goal: at 10M entries >= 0.8x the rate on an
empty log), on SQLite and PostgreSQL in one run.

Each entry is a release-sized event with two lookup keys, a consent's and a citizen's,
drawn from 500,000 consents and 200,000 citizens, as in production: keys at random places
of the lookup index's current epoch (storage/log.py, KEY_EPOCH_BITS). The log is filled
to `--entries` in batches of 1,000; then, `--rounds` times, `--window` entries are
appended in group commits of 100 (as under load) to a fresh empty log and to the filled
one, turn about. The ratio of the two medians is the figure. Also timed: a citizen's
lookup (a history page's), which probes every epoch.
Run: .venv/bin/python bench/log_growth.py [--entries 10000000] [--window 100000] [--rounds 3] [--backend sqlite postgresql]
"""

import argparse
import contextlib
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devchain.postgres import PostgresServer  # noqa: E402
from ledger.tlog.note import Signer  # noqa: E402
from storage.log import LogStore  # noqa: E402
from storage.postgres.log import PostgresLog  # noqa: E402
from storage.postgres.migrate import migrate  # noqa: E402
from storage.postgres.pool import PostgresDatabase  # noqa: E402
from storage.sqlite.log import SqliteLog  # noqa: E402

_KEYS = random.Random(1)
CONSENTS = [f"consent:0x{_KEYS.getrandbits(256):064x}" for _ in range(500_000)]
CITIZENS = [f"0x{_KEYS.getrandbits(160):040x}" for _ in range(200_000)]
ENTRY = b'{"area":"work","block":123456,"checked_block":123456,"consent_id":"0x' + b"ab" * 32 + b'","decision":"released","service":"cv-builder","time":"2026-11-30T22:00:00Z","type":"data.read"}'


def lookup_ms(log: LogStore, rng: random.Random, count: int = 200) -> float:
    """Median milliseconds to find one citizen's entries (a history page's lookup)."""
    times = []
    for _ in range(count):
        start = time.perf_counter()
        log.find(rng.choice(CITIZENS))
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def append_batches(log: LogStore, count: int, batch: int, rng: random.Random) -> float:
    """Append `count` entries in batches of `batch`; entries per second."""
    start = time.perf_counter()
    for _ in range(count // batch):
        log.append([ENTRY] * batch, keys=[[rng.choice(CONSENTS), rng.choice(CITIZENS)] for _ in range(batch)])
    return count / (time.perf_counter() - start)


@contextlib.contextmanager
def fresh_log(backend: str, server: PostgresServer | None):
    signer = Signer("bench/growth", os.urandom(32))
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as d:
            yield SqliteLog(os.path.join(d, "log.sqlite"), "bench/growth", signer)
        return
    assert server is not None
    db = PostgresDatabase(server.create_database(f"growth_{os.urandom(4).hex()}"), pool_size=2)
    migrate(db)
    try:
        yield PostgresLog(db, "bench/growth", signer)
    finally:
        db.close()


def run(backend: str, entries: int, window: int, rounds: int, server: PostgresServer | None) -> None:
    rng = random.Random(7)
    empty, grown, empty_find, grown_find = [], [], [], []
    with fresh_log(backend, server) as log:
        started, filled = time.perf_counter(), 0
        while filled < entries:
            step = min(1_000_000, entries - filled)
            append_batches(log, step, 1000, rng)
            filled += step
            print(f"  {backend}: filled to {filled:,} entries ({time.perf_counter() - started:.0f} s)", flush=True)
        for _ in range(rounds):  # interleaved, so that the machine's changing pace hits both alike
            with fresh_log(backend, server) as new:
                empty.append(append_batches(new, window, 100, rng))
                empty_find.append(lookup_ms(new, rng))
            grown.append(append_batches(log, window, 100, rng))
            grown_find.append(lookup_ms(log, rng))
    e, g = statistics.median(empty), statistics.median(grown)
    print(f"{backend}: {e:,.0f} entries/s on an empty log, {g:,.0f}/s at {entries:,} entries: {g / e:.2f}x (goal >= 0.8x; medians of {rounds} rounds)")
    print(f"{backend}: a citizen's lookup {statistics.median(empty_find):.2f} ms at {window:,} entries, {statistics.median(grown_find):.2f} ms at {entries:,}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=10_000_000)
    ap.add_argument("--window", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--backend", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"])
    args = ap.parse_args()
    with PostgresServer() if "postgresql" in args.backend else contextlib.nullcontext() as server:
        for backend in args.backend:
            run(backend, args.entries, args.window, args.rounds, server)


if __name__ == "__main__":
    main()
