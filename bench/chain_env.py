"""Start chain nodes for the benches: the embedded chain and a Hardhat node, on free loopback ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from ledger.chain import ChainClient, ChainError

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_node(kind: str):
    """Yield the URL of a fresh node of `kind` ("embedded" or "hardhat"); stop it afterwards."""
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        if kind == "embedded":
            cmd, cwd = [sys.executable, "-m", "ledger.cli", "chain", "--data-dir", tmp, "--port", str(port)], ROOT
        else:
            cmd, cwd = ["npx", "--no-install", "hardhat", "node", "--hostname", "127.0.0.1", "--port", str(port)], ROOT / "contracts"
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    ChainClient(url)
                    break
                except ChainError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            yield url
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
