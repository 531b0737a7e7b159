"""Options shared by several commands."""

from __future__ import annotations

from pathlib import Path

import click

from .ports import DEFAULT, local_url

DEFAULT_DATA = Path("var")

chain_url = click.option(
    "--chain", "chain_url", default=local_url(DEFAULT.chain), show_default=True, envvar="MYDATA_CHAIN", help="Ethereum JSON-RPC URL."
)
operator_url = click.option(
    "--operator", "operator_url", default=local_url(DEFAULT.operator), show_default=True, envvar="MYDATA_OPERATOR", help="Operator base URL."
)
database_url = click.option(
    "--database-url",
    default=None,
    envvar="MYDATA_DATABASE_URL",
    help="Where replicas share state: postgresql://user@host:port/db (default: SQLite files in the data directory).",
)
data_dir = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_DATA / "operator",
    show_default=True,
    help="Operator data directory (keys, log, deployment).",
)
