"""`mydata pds`: the personal data store service."""

from __future__ import annotations

from pathlib import Path

import click

from . import main, options
from .ports import DEFAULT


def operator_public_key(operator_dir: Path) -> bytes:
    from consent_operator.keystore import request_seed
    from ledger.request_auth import RequestSigner

    return RequestSigner("operator", request_seed(operator_dir)).public_key()


@main.command("pds")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=options.DEFAULT_DATA / "pds", show_default=True)
@click.option(
    "--operator-dir", type=click.Path(file_okay=False, path_type=Path), default=options.DEFAULT_DATA / "operator",
    show_default=True, help="The operator's data directory, for its request-signing public key.",
)
@click.option("--port", default=DEFAULT.pds, show_default=True)
@click.option("--workers", default=2, show_default=True, help="gunicorn worker processes (4 threads each).")
@options.database_url
def pds_cmd(data_dir: Path, operator_dir: Path, port: int, workers: int, database_url: str | None) -> None:
    """Serve the personal data store on 127.0.0.1 under gunicorn (encrypted areas, versions, wrapped keys)."""
    from httpkit.serving import GunicornServer
    from pds.app import create_app

    operator_key = operator_public_key(operator_dir)
    click.echo(f"pds: http://127.0.0.1:{port} ({workers} workers)", err=True)
    GunicornServer(lambda: create_app(data_dir, operator_key, database_url), port, workers).run()
