"""Shared fixtures: real EVM nodes (the embedded chain and Hardhat), a real PostgreSQL
server, and a live operator."""

from __future__ import annotations

import secrets
import threading
from pathlib import Path

import pytest
from eth_account import Account

from devchain.nodes import ROOT, DevNode, free_port  # noqa: F401 - re-exported for tests
from httpkit.serving import loopback_server
from ledger.chain import ChainClient
from ledger.contract import deploy
from ledger.registry import Registry

CHAINS = ["embedded", "hardhat"]


@pytest.fixture(scope="session", params=CHAINS)
def node(request, tmp_path_factory):
    workdir = tmp_path_factory.mktemp(request.param)
    n = DevNode(request.param, workdir / "data", log_file=workdir / "node.log").start()
    yield n
    n.stop()


@pytest.fixture(scope="session")
def postgres():
    """One PostgreSQL server for the session (Debian's package, run as the postgres user)."""
    from devchain.postgres import PostgresServer

    with PostgresServer() as server:
        yield server


@pytest.fixture
def pg_url(postgres) -> str:
    """A fresh database with every migration applied, for one test."""
    from storage.backends import PostgresBackend

    url = postgres.create_database("t_" + secrets.token_hex(6))
    backend = PostgresBackend(url)
    backend.migrate()
    backend.db.close()
    return url


@pytest.fixture(scope="session")
def recorded_chain(tmp_path_factory):
    """A receipt and a history with the chain answers their verification needs, replayed
    offline (tests/recorded_chain.py)."""
    from .recorded_chain import fixture

    yield from fixture(lambda: tmp_path_factory.mktemp("recording"))


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
    def __init__(self, node: DevNode, data_dir: Path, **overrides):
        from consent_operator import create_app
        from consent_operator.chain.deployment import deploy_registry
        from consent_operator.config import OperatorConfig
        from consent_operator.keystore import chain_account

        deploy_registry(node.url, data_dir)
        self.config = OperatorConfig(
            data_dir=data_dir,
            chain_url=node.url,
            deployment_file=data_dir / "deployment.json",
            **{"background": False, **overrides},
        )
        self.app = create_app(self.config)
        self.runtime = self.app.extensions["operator"]
        self.account = chain_account(data_dir)
        self.server = loopback_server(self.app)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.runtime.stop()


@pytest.fixture
def operator(node, tmp_path):
    op = LiveOperator(node, tmp_path / "operator")
    yield op
    op.close()


@pytest.fixture
def world(node, tmp_path):
    from .worlds import World

    w = World(node, tmp_path)
    yield w
    w.close()


@pytest.fixture
def site(node, tmp_path):
    """A World with the CV service on a loopback port: (world, cv site, citizen agent)."""
    from .worlds import CvSite, World

    world = World(node, tmp_path)
    cv = CvSite(world, tmp_path)
    yield world, cv, world.agent
    cv.close()
    world.close()
