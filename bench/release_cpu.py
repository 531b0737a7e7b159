"""CPU time per release by kind of process: where a release's cost goes, SQLite vs PostgreSQL.

Starts the same worlds as bench/releases.py (SQLite; PostgreSQL with 1 replica x 2
workers, and 2 replicas x 1 worker behind HAProxy, over loopback TCP), sends releases with
wrk and, over the middle of the run, reads each process's CPU time from /proc (utime +
stime): the operator's workers, its log writer, the PostgreSQL server, the chain, wrk,
HAProxy, and the machine's idle and stolen time, each divided by the releases served. On a machine whose speed drifts, compare kinds
within one run, not runs.
Run: .venv/bin/python bench/release_cpu.py [--seconds 15] [--postgres]
"""

import argparse
import collections
import os
import threading
import time
from pathlib import Path

from load import measure
from releases import WARM_UP_SECONDS, migrated, world

from devchain.postgres import PostgresServer

TICKS = os.sysconf("SC_CLK_TCK")


def _kind(pid: str) -> str | None:
    """What process `pid` is, by its command line (None: not part of the bench)."""
    proc = Path("/proc") / pid
    try:
        cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        comm = (proc / "comm").read_text().strip()
    except OSError:
        return None
    if comm in ("wrk", "haproxy", "postgres"):
        return comm
    if "log_writer_process" in cmd:
        return "log writer"
    if "gunicorn: worker" in cmd:
        return "workers"  # (the PDS's too: the release cache keeps them idle)
    if " chain " in cmd:
        return "chain"
    return None


def _cpu_seconds() -> collections.Counter:
    spent: collections.Counter = collections.Counter()
    total = open("/proc/stat").readline().split()[1:]
    spent["(idle)"], spent["(stolen)"] = int(total[3]) / TICKS, int(total[7]) / TICKS
    for pid in filter(str.isdigit, os.listdir("/proc")):
        kind = _kind(pid)
        try:
            fields = (Path("/proc") / pid / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if kind:
            spent[kind] += (int(fields[11]) + int(fields[12])) / TICKS
    return spent


def _run(name: str, w, seconds: int) -> None:
    measure(w.operator, w.path, w.signer, WARM_UP_SECONDS, 32, 1, 6000)
    window: dict = {}

    def sample() -> None:
        while not any(_kind(pid) == "wrk" for pid in filter(str.isdigit, os.listdir("/proc"))):
            time.sleep(0.05)  # (pre-signing comes first)
        time.sleep(1)
        before, started = _cpu_seconds(), time.monotonic()
        time.sleep(seconds - 3)
        window["spent"], window["elapsed"] = _cpu_seconds() - before, time.monotonic() - started

    sampler = threading.Thread(target=sample)
    sampler.start()
    result = measure(w.operator, w.path, w.signer, seconds, 32, 1, 6000)
    sampler.join()
    releases = result.rate * window["elapsed"]
    parts = ", ".join(f"{kind} {spent * 1000 / releases:.2f}" for kind, spent in sorted(window["spent"].items()) if spent)
    print(f"{name}: {result.rate:.0f} releases/s; ms of CPU per release: {parts}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--postgres", action="store_true", help="also PostgreSQL: 1 replica x 2 workers, 2 replicas x 1 worker")
    args = ap.parse_args()
    with world(2, baseline=False) as w:
        _run("SQLite", w, args.seconds)
    if args.postgres:
        with PostgresServer() as pg:
            for replicas in (1, 2):
                url = migrated(pg.create_database(f"cpu{replicas}"))
                with world(2 // replicas, url, replicas, baseline=False) as w:
                    _run(f"PostgreSQL, {replicas} replica(s) x {2 // replicas} worker(s)", w, args.seconds)


if __name__ == "__main__":
    main()
