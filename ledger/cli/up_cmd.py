"""`mydata up`: the whole system on 127.0.0.1 with embedded defaults."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import click

from ..chain import ChainClient, ChainError
from . import main, options
from .chain_cmds import deploy_registry
from .operator_cmds import operator_config, serve_operator


def wait_for_chain(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            ChainClient(url)
            return
        except ChainError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@main.command("up")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=options.DEFAULT_DATA, show_default=True)
@click.option("--chain", "chain_url", default=None, help="Use this JSON-RPC node instead of the embedded chain.")
@click.option("--chain-port", default=8545, show_default=True)
@click.option("--operator-port", default=8600, show_default=True)
def up_cmd(data_dir: Path, chain_url: str | None, chain_port: int, operator_port: int) -> None:
    """Run the embedded chain, deploy the registry once, and serve the operator."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # run the finally below on SIGTERM too
    chain_proc = None
    if chain_url is None:
        chain_url = f"http://127.0.0.1:{chain_port}"
        chain_proc = subprocess.Popen(
            [sys.executable, "-m", "ledger.cli", "chain", "--data-dir", str(data_dir / "chain"), "--port", str(chain_port)]
        )
    try:
        wait_for_chain(chain_url)
        if chain_proc and chain_proc.poll() is not None:
            raise click.ClickException(f"the embedded chain could not start (is port {chain_port} taken?)")
        dep, _ = deploy_registry(chain_url, data_dir / "operator")
        click.echo(f"chain:    {chain_url}\nregistry: {dep.address}\noperator: http://127.0.0.1:{operator_port}")
        serve_operator(operator_config(chain_url, data_dir / "operator", 100, 30.0), operator_port)
    finally:
        if chain_proc:
            chain_proc.terminate()
            chain_proc.wait(timeout=30)
