"""`mydata up`: the whole system on 127.0.0.1 with embedded defaults."""

from __future__ import annotations

from pathlib import Path

import click

from . import main, options
from .ports import DEFAULT, Ports
from .stack import Stack


def print_urls(stack: Stack) -> None:
    width = max(map(len, stack.urls)) + 1
    for name, url in stack.urls.items():
        click.echo(f"{name + ':':<{width}} {url}")
    click.echo(f"{'registry:':<{width}} {stack.deployment.address}")
    click.echo(f"logs in {stack.data_dir / 'logs'}; Ctrl-C stops everything")


@main.command("up")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=options.DEFAULT_DATA, show_default=True)
@click.option("--chain", "chain_url", default=None, help="Use this JSON-RPC node instead of the embedded chain.")
@click.option("--chain-port", default=DEFAULT.chain, show_default=True)
@click.option("--operator-port", default=DEFAULT.operator, show_default=True)
@click.option("--pds-port", default=DEFAULT.pds, show_default=True)
@click.option("--replicas", default=1, show_default=True, type=click.IntRange(1, 32), help="Operator and PDS replicas, each behind HAProxy (over PostgreSQL).")
@options.database_url
def up_cmd(data_dir: Path, chain_url: str | None, chain_port: int, operator_port: int, pds_port: int, replicas: int, database_url: str | None) -> None:
    """Run the embedded chain, deploy the registry once, and serve the PDS and the operator.

    With --replicas N the operator and the PDS each run as N replicas behind HAProxy on their
    ports, sharing --database-url (default: a PostgreSQL server kept in DATA_DIR/postgres)."""
    stack = Stack(data_dir, Ports(chain_port, operator_port, pds_port), chain_url, replicas=replicas, database_url=database_url)
    with stack:
        print_urls(stack)
        stack.wait()
