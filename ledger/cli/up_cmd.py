"""`mydata up`: the whole system on 127.0.0.1 with embedded defaults."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import click

from ..chain import ChainError
from ..devnodes import DevNode
from . import main, options
from .chain_cmds import deploy_registry
from .operator_cmds import operator_config, serve_operator


@main.command("up")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=options.DEFAULT_DATA, show_default=True)
@click.option("--chain", "chain_url", default=None, help="Use this JSON-RPC node instead of the embedded chain.")
@click.option("--chain-port", default=8545, show_default=True)
@click.option("--operator-port", default=8600, show_default=True)
@click.option("--pds-port", default=8700, show_default=True)
def up_cmd(data_dir: Path, chain_url: str | None, chain_port: int, operator_port: int, pds_port: int) -> None:
    """Run the embedded chain, deploy the registry once, and serve the PDS and the operator."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # run the finally below on SIGTERM too
    node = None
    if chain_url is None:
        node = DevNode("embedded", data_dir / "chain", port=chain_port)
        try:
            node.start()
        except ChainError:
            raise click.ClickException(f"the embedded chain did not start (is port {chain_port} taken?)") from None
        chain_url = node.url
    pds = None
    try:
        dep, _ = deploy_registry(chain_url, data_dir / "operator")
        pds = subprocess.Popen(
            [sys.executable, "-m", "ledger.cli", "pds", "--data-dir", str(data_dir / "pds"),
             "--operator-dir", str(data_dir / "operator"), "--port", str(pds_port)]
        )
        click.echo(
            f"chain:    {chain_url}\nregistry: {dep.address}\n"
            f"pds:      http://127.0.0.1:{pds_port}\noperator: http://127.0.0.1:{operator_port}"
        )
        config = operator_config(chain_url, data_dir / "operator", 100, 30.0, f"http://127.0.0.1:{pds_port}")
        serve_operator(config, operator_port)
    finally:
        if pds:
            pds.terminate()
            pds.wait(timeout=30)
        if node:
            node.stop()
