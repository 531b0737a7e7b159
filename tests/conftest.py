"""Shared fixtures: real EVM nodes (the embedded chain and Hardhat) and a live operator."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from eth_account import Account
from werkzeug.serving import make_server

from ledger.chain import ChainClient, ChainError
from ledger.contract import deploy
from ledger.registry import Registry

ROOT = Path(__file__).resolve().parent.parent
CHAINS = ["embedded", "hardhat"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            ChainClient(url)
            return
        except ChainError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"node at {url} did not start") from None
            time.sleep(0.2)


class Node:
    """A chain node process; `restart` keeps its data."""

    def __init__(self, kind: str, workdir: Path):
        self.kind, self.workdir, self.port = kind, workdir, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Node:
        if self.kind == "embedded":
            cmd = [sys.executable, "-m", "ledger.cli", "chain", "--data-dir", str(self.workdir), "--port", str(self.port)]
            cwd = ROOT
        else:
            cmd = ["npx", "--no-install", "hardhat", "node", "--hostname", "127.0.0.1", "--port", str(self.port)]
            cwd = ROOT / "contracts"
        log = open(self.workdir.parent / f"{self.kind}-{self.port}.log", "ab")
        self.proc = subprocess.Popen(cmd, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(self.url, self.proc)
        return self

    def stop(self, sig: int = 15) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=30)

    def increase_time(self, seconds: int) -> None:
        """Mine a block `seconds` after the latest one (blocks may run ahead of the wall clock)."""
        w3 = ChainClient(self.url).w3
        latest = w3.eth.get_block("latest")["timestamp"]
        w3.provider.make_request("evm_setNextBlockTimestamp", [latest + seconds])
        w3.provider.make_request("evm_mine", [])


@pytest.fixture(scope="session", params=CHAINS)
def node(request, tmp_path_factory):
    n = Node(request.param, tmp_path_factory.mktemp(request.param)).start()
    yield n
    n.stop()


@pytest.fixture
def operator_key():
    return Account.create()


@pytest.fixture
def registry(node, operator_key, tmp_path) -> Registry:
    client = ChainClient(node.url, operator_key)
    assert client.fund_from_dev_account(operator_key.address)
    dep, _ = deploy(client, tmp_path / "deployment.json", operator_key.address)
    return Registry.of(client, dep)


class LiveOperator:
    def __init__(self, node: Node, data_dir: Path, **overrides):
        from consent_operator import create_app
        from consent_operator.config import OperatorConfig
        from consent_operator.keystore import chain_account
        from ledger.cli.chain_cmds import deploy_registry

        deploy_registry(node.url, data_dir)
        self.config = OperatorConfig(
            data_dir=data_dir,
            chain_url=node.url,
            deployment_file=data_dir / "deployment.json",
            background=False,
            **overrides,
        )
        self.app = create_app(self.config)
        self.runtime = self.app.extensions["operator"]
        self.account = chain_account(data_dir)
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def operator(node, tmp_path):
    op = LiveOperator(node, tmp_path / "operator")
    yield op
    op.close()
