"""`mydata demo`: the whole system with the CV service and a seeded demo citizen."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import click

from . import main, options
from .ports import DEFAULT, Ports
from .stack import Stack
from .up_cmd import print_urls


@main.command("demo")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help=f"Keep everything here [default: {options.DEFAULT_DATA}; a fresh temporary folder with --walkthrough].")
@click.option("--walkthrough", is_flag=True, help="Run the whole story unattended and exit non-zero if any step misbehaves.")
@click.option("--chain-port", type=int, help=f"[default: {DEFAULT.chain}; a free port with --walkthrough]")
@click.option("--operator-port", type=int, help=f"[default: {DEFAULT.operator}; …]")
@click.option("--pds-port", type=int, help=f"[default: {DEFAULT.pds}; …]")
@click.option("--cv-port", type=int, help=f"[default: {DEFAULT.cv_service}; …]")
@click.option("--citizen-port", type=int, help=f"[default: {DEFAULT.citizen_app}; …]")
@click.option("--auditor-port", type=int, help=f"[default: {DEFAULT.auditor_view}; …]")
def demo_cmd(data_dir: Path | None, walkthrough: bool, chain_port, operator_port, pds_port, cv_port, citizen_port, auditor_port) -> None:
    """Run chain, operator, PDS, CV service, citizen app and auditor view on 127.0.0.1 with a seeded demo citizen."""
    from web.citizen_agent import Endpoints
    from web.demo_citizen import demo_passphrase, seed

    from .walkthrough import walk

    base = Ports.free() if walkthrough else Ports()
    given = {"chain": chain_port, "operator": operator_port, "pds": pds_port, "cv_service": cv_port, "citizen_app": citizen_port, "auditor_view": auditor_port}
    ports = Ports(**{k: v or getattr(base, k) for k, v in given.items()})
    fresh = walkthrough and data_dir is None  # an unattended walk starts from nothing, then cleans up
    with tempfile.TemporaryDirectory(prefix="mydata-walkthrough-") if fresh else contextlib.nullcontext() as tmp:
        data_dir = Path(tmp) if fresh else (data_dir or options.DEFAULT_DATA)
        wallet = data_dir / "citizen" / ("walkthrough.json" if walkthrough else "wallet.json")
        passphrase = demo_passphrase(wallet)
        with Stack(data_dir, ports, apps=True, wallet=wallet, passphrase=passphrase) as stack:
            agent = seed(wallet, Endpoints(stack.url("operator"), stack.url("pds"), stack.chain_url), passphrase)
            if walkthrough:
                walk(stack, agent)
                return
            print_urls(stack)
            click.echo(f"demo citizen: {agent.id}\n  wallet: {agent.wallet.path} (open the citizen app)\n  passphrase: {passphrase}")
            stack.wait()
