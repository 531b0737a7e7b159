"""Options shared by several commands."""

from __future__ import annotations

from pathlib import Path

import click

DEFAULT_DATA = Path("var")

chain_url = click.option(
    "--chain", "chain_url", default="http://127.0.0.1:8545", show_default=True, envvar="MYDATA_CHAIN", help="Ethereum JSON-RPC URL."
)
operator_url = click.option(
    "--operator", "operator_url", default="http://127.0.0.1:8600", show_default=True, envvar="MYDATA_OPERATOR", help="Operator base URL."
)
data_dir = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_DATA / "operator",
    show_default=True,
    help="Operator data directory (keys, log, deployment).",
)
