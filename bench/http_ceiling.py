"""The ceiling the release figures live under: the same load generator (wrk, bench/load.py) and gunicorn
settings as bench/releases.py against a Flask endpoint that does nothing (no signature
check, no consent decision, no log append), on the same machine.
Run: .venv/bin/python bench/http_ceiling.py [--seconds 10] [--connections 32] [--workers 2]
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

from load import measure

from devchain.nodes import free_port, wait_for_http
from ledger.request_auth import RequestSigner


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--wrk-threads", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    port = free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen(
        [str(gunicorn), "--chdir", str(Path(__file__).parent), "-b", f"127.0.0.1:{port}", "-w", str(args.workers), "-k", "gevent_pywsgi",
         "--log-level", "warning", "ceiling_app:app"]
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_http(url + "/x", proc)
        signer = RequestSigner("service:ceiling", os.urandom(32))
        measure(url, "/v1/x", signer, 2, args.connections, args.wrk_threads, 8000)
        r = measure(url, "/v1/x", signer, args.seconds, args.connections, args.wrk_threads, 8000)
        print(f"{'do-nothing Flask under gunicorn':>32}: {r.rate:8.0f} requests/s  p50 {r.p50_ms:7.1f} ms  p99 {r.p99_ms:7.1f} ms")
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    main()
