"""`mydata chain` and `mydata contract …`."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import click

from devchain import embedded
from ledger.contract import Deployment, artifact
from ledger.eip712 import typed_data

from . import main, options
from .ports import DEFAULT


@main.command("chain")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=options.DEFAULT_DATA / "chain", show_default=True)
@click.option("--port", default=DEFAULT.chain, show_default=True)
def chain_cmd(data_dir: Path, port: int) -> None:
    """Serve the persistent embedded EVM chain (py-evm) as JSON-RPC on 127.0.0.1."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # close the database cleanly
    embedded.serve(data_dir, port, ready=lambda p: click.echo(f"chain: http://127.0.0.1:{p}", err=True))


@main.group("contract")
def contract_group() -> None:
    """Deploy and describe the ConsentRegistry contract."""


@contract_group.command("deploy")
@options.chain_url
@options.data_dir
def deploy_cmd(chain_url: str, data_dir: Path) -> None:
    """Deploy the registry (idempotent: a live deployment in DATA_DIR/deployment.json is kept)."""
    from consent_operator.chain.deployment import deploy_registry

    dep, fresh = deploy_registry(chain_url, data_dir)
    click.echo(f"{'deployed' if fresh else 'already deployed'}: ConsentRegistry at {dep.address} (chain {dep.chain_id}, block {dep.block})")


@contract_group.command("info")
@click.option("--deployment", type=click.Path(dir_okay=False, path_type=Path), help="Fill in chainId and verifyingContract.")
def info_cmd(deployment: Path | None) -> None:
    """Print the published EIP-712 domain and types for wallets (ethers.js, MetaMask)."""
    art = artifact()
    out = {"contract": art["contractName"], "compiler": art["compiler"]["version"], "eip712": art["eip712"]}
    if deployment:
        dep = Deployment.load(deployment)
        out["address"] = dep.address
        out["eip712"] = {p: typed_data(p, {}, dep.chain_id, dep.address) for p in art["eip712"]["types"]}
    click.echo(json.dumps(out, indent=2))
