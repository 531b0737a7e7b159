"""The ceiling the release figures live under: the same load generator (wrk, bench/load.py) and gunicorn
settings as bench/releases.py against a Flask endpoint that does nothing (no signature
check, no consent decision, no log append), on the same machine.
Run: .venv/bin/python bench/http_ceiling.py [--seconds 10] [--connections 32] [--workers 2]
"""

import argparse
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from load import Result, measure

from devchain.nodes import free_port, wait_for_http
from ledger.request_auth import RequestSigner


@contextmanager
def do_nothing_server(workers: int) -> Iterator[str]:
    """The do-nothing app under gunicorn with the operator's worker class; yields its URL."""
    port = free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen(
        [str(gunicorn), "--chdir", str(Path(__file__).parent), "-b", f"127.0.0.1:{port}", "-w", str(workers), "-k", "gevent_pywsgi",
         "--log-level", "warning", "ceiling_app:app"]
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_http(url + "/x", proc)
        yield url
    finally:
        proc.terminate()
        proc.wait()


def ceiling(workers: int, seconds: int, connections: int, wrk_threads: int) -> Result:
    """Requests/s and latency of the do-nothing app under the releases' load."""
    with do_nothing_server(workers) as url:
        signer = RequestSigner("service:ceiling", os.urandom(32))
        measure(url, "/v1/x", signer, 2, connections, wrk_threads, 8000)
        return measure(url, "/v1/x", signer, seconds, connections, wrk_threads, 8000)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--wrk-threads", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    r = ceiling(args.workers, args.seconds, args.connections, args.wrk_threads)
    print(f"{'do-nothing Flask under gunicorn':>32}: {r.rate:8.0f} requests/s  p50 {r.p50_ms:7.1f} ms  p99 {r.p99_ms:7.1f} ms")


if __name__ == "__main__":
    main()
