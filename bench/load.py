"""Load generator for the release benchmarks: wrk sending pre-signed requests.

wrk (C, epoll) leaves the 2 cores to the server far more than a Python client would;
each request carries its own nonce, signed before the clock starts (signing is the
clients' cost). A run that used up its pre-signed requests, or got any error status,
fails loudly instead of reporting a figure.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import requests

from ledger.request_auth import RequestSigner

SCRIPT = Path(__file__).with_name("presigned.lua")


@dataclass(frozen=True)
class Result:
    rate: float
    p50_ms: float
    p99_ms: float


def _presign(url: str, path: str, signer: RequestSigner, count: int, out: Path) -> None:
    with out.open("w") as f:
        for _ in range(count):
            h = signer.sign(requests.Request("GET", url + path).prepare()).headers
            f.write(f"{h['Signature-Input']}\t{h['Signature']}\t{h['Content-Digest']}\n")


def measure(url: str, path: str, signer: RequestSigner, seconds: int, connections: int, threads: int, max_rate: int) -> Result:
    """Send pre-signed GETs of `path` for `seconds` over `connections` keep-alive connections."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (scripts/setup installs it: apt-get install wrk)")
    with tempfile.TemporaryDirectory() as tmp:
        prefix = Path(tmp) / "signed-"
        per_thread = max_rate * seconds // threads + connections
        for t in range(threads):
            _presign(url, path, signer, per_thread, Path(f"{prefix}{t}"))
        run = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", "-s", str(SCRIPT), url, "--", path, str(prefix)],
            capture_output=True, text=True,
        )
    if run.returncode != 0:
        raise SystemExit(f"wrk failed (exit {run.returncode}): {(run.stderr or run.stdout).strip()[-500:]}")
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    if figures["errors"]:
        raise SystemExit(f"{figures['errors']} failed requests against {url} (more than --max-rate {max_rate}/s? raise it)")
    return Result(figures["requests"] * 1e6 / figures["duration_us"], figures["p50_us"] / 1e3, figures["p99_us"] / 1e3)
