"""`mydata cv-service`: the sample CV builder and certificate issuer."""

from __future__ import annotations

from pathlib import Path

import click

from . import main, options
from .ports import DEFAULT


@main.command("cv-service")
@options.operator_url
@options.chain_url
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=options.DEFAULT_DATA / "cv-service", show_default=True)
@click.option("--port", default=DEFAULT.cv_service, show_default=True)
@click.option("--citizen-app", "citizen_app_url", default=None, envvar="MYDATA_CITIZEN_APP", help="Citizen app URL to send people to.")
def cv_service_cmd(operator_url: str, chain_url: str, data_dir: Path, port: int, citizen_app_url: str | None) -> None:
    """Serve the sample CV service on 127.0.0.1 (registers itself with the operator first)."""
    from cv_service.app import create_app
    from httpkit.serving import loopback_server

    public_url = f"http://127.0.0.1:{port}"
    app = create_app(operator_url, chain_url, data_dir, public_url, citizen_app_url)
    app.extensions["cv_service.register"]()
    server = loopback_server(app, port)
    click.echo(f"cv-service: {public_url}", err=True)
    server.serve_forever()
