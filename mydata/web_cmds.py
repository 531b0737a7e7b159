"""`mydata citizen-app` and `mydata auditor-view`: the web apps in web/, on 127.0.0.1."""

from __future__ import annotations

import os
from pathlib import Path

import click

from . import main, options
from .ports import DEFAULT, local_url


@main.command("citizen-app")
@click.option("--wallet", type=click.Path(dir_okay=False, path_type=Path), default=options.DEFAULT_DATA / "citizen" / "wallet.json", show_default=True,
              help="The citizen's wallet (created in the app if missing).")
@options.operator_url
@options.chain_url
@click.option("--pds", "pds_url", default=local_url(DEFAULT.pds), show_default=True, envvar="MYDATA_PDS", help="PDS base URL.")
@click.option("--port", default=DEFAULT.citizen_app, show_default=True)
def citizen_app_cmd(wallet: Path, operator_url: str, chain_url: str, pds_url: str, port: int) -> None:
    """Serve the citizen app (keys stay in WALLET; talks to the operator over HTTP only).

    The wallet stays locked until the citizen types its passphrase in the app, or, with
    MYDATA_PASSPHRASE set, unlocks as soon as it exists."""
    from httpkit.serving import loopback_server
    from web.citizen_agent import Endpoints
    from web.citizen_app import create_app

    server = loopback_server(create_app(wallet, Endpoints(operator_url, pds_url, chain_url), os.environ.get("MYDATA_PASSPHRASE")), port)
    click.echo(f"citizen app: http://127.0.0.1:{server.server_port}", err=True)
    server.serve_forever()


@main.command("auditor-view")
@options.operator_url
@options.chain_url
@click.option("--state", "state_path", type=click.Path(dir_okay=False, path_type=Path), default=options.DEFAULT_DATA / "auditor" / "view-state.json", show_default=True)
@click.option("--port", default=DEFAULT.auditor_view, show_default=True)
@options.witness_keys
@options.witness_quorum
def auditor_view_cmd(operator_url: str, chain_url: str, state_path: Path, port: int, witness_keys: tuple[str, ...], witness_quorum: int | None) -> None:
    """Serve the auditor view: the full audit on every visit, anomalies in red."""
    from httpkit.serving import loopback_server
    from web.auditor_app import create_app

    server = loopback_server(create_app(operator_url, chain_url, state_path, options.witness_policy(witness_keys, witness_quorum)), port)
    click.echo(f"auditor view: http://127.0.0.1:{server.server_port}", err=True)
    server.serve_forever()
