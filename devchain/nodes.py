"""Local development chain nodes: the embedded chain or a Hardhat node, as child processes.

Used by `mydata up`, the tests and the benches; both bind to 127.0.0.1 only.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from ledger.chain import ChainClient, ChainError
from ledger.errors import MyDataError

ROOT = Path(__file__).resolve().parents[1]  # the repository


class StartupError(MyDataError, RuntimeError):
    """A local server process did not come up."""

    problem_type = "startup-failed"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_chain(url: str, proc: subprocess.Popen | None = None, timeout: float = 90) -> None:
    """Wait until `url` answers JSON-RPC; fail early if `proc` exits."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            ChainClient(url)
            return
        except ChainError:
            if (proc is not None and proc.poll() is not None) or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def wait_for_http(url: str, proc: subprocess.Popen | None = None, timeout: float = 90) -> None:
    """Wait until `url` answers 200; fail early if `proc` exits."""
    import requests

    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        if (proc is not None and proc.poll() is not None) or time.monotonic() > deadline:
            raise StartupError(f"{url} did not come up")
        time.sleep(0.2)


def child_pids(pid: int) -> list[int]:
    """The process ids of `pid`'s children (Linux /proc)."""
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()]


def wait_until(check, what: str, seconds: float = 60) -> None:
    """Poll `check` until it is true (an OSError or requests error counts as not yet); an
    AssertionError naming `what` after `seconds`."""
    import requests

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (OSError, requests.RequestException):
            pass
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class DevNode:
    """A chain node process on a loopback port; `start` again after `stop` keeps its data."""

    def __init__(self, kind: str, data_dir: Path, port: int | None = None, log_file: Path | None = None):
        if kind not in ("embedded", "hardhat"):
            raise ValueError(f"unknown node kind {kind!r}")
        self.kind, self.data_dir, self.port = kind, Path(data_dir), port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_file = log_file
        self.proc: subprocess.Popen | None = None

    def start(self) -> DevNode:
        if self.kind == "embedded":
            cmd = [sys.executable, "-m", "mydata", "chain", "--data-dir", str(self.data_dir), "--port", str(self.port)]
            cwd = ROOT
        else:
            cmd = ["npx", "--no-install", "hardhat", "node", "--hostname", "127.0.0.1", "--port", str(self.port)]
            cwd = ROOT / "contracts"
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL
        self.proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for_chain(self.url, self.proc)
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=30)

    def increase_time(self, seconds: int) -> None:
        """Mine a block `seconds` after the latest one (blocks may run ahead of the wall clock)."""
        w3 = ChainClient(self.url).w3
        latest = w3.eth.get_block("latest")["timestamp"]
        w3.provider.make_request("evm_setNextBlockTimestamp", [latest + seconds])
        w3.provider.make_request("evm_mine", [])

    def __enter__(self) -> DevNode:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
