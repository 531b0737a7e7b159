"""`mydata citizen …` and `mydata consent …`: the citizen's side, from the command line."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path

import click

from ledger import citizen, record
from ledger.chain import ChainClient
from ledger.registry import Registry
from ledger.wallet import Wallet

from . import main, options

wallet_opt = click.option(
    "--wallet", "wallet_path", type=click.Path(dir_okay=False, path_type=Path), default=options.DEFAULT_DATA / "citizen" / "wallet.json", show_default=True
)


@main.group("citizen")
def citizen_group() -> None:
    """Create or restore a citizen identity (recovery phrase)."""


@citizen_group.command("create")
@wallet_opt
def create_cmd(wallet_path: Path) -> None:
    """Create a wallet with a new 24-word recovery phrase, and print the phrase."""
    wallet = Wallet.create(wallet_path)
    click.echo(wallet.data["phrase"])


@citizen_group.command("restore")
@wallet_opt
def restore_cmd(wallet_path: Path) -> None:
    """Restore a wallet from a recovery phrase read on standard input."""
    Wallet.create(wallet_path, sys.stdin.read().strip())
    click.echo(f"restored {wallet_path}")


@main.group("consent")
def consent_group() -> None:
    """Grant, revoke and list consents."""


def _area(value: str) -> dict[str, str]:
    area, _, access = value.partition(":")
    return {"area": area, "access": access or "read"}


@consent_group.command("grant")
@wallet_opt
@options.operator_url
@click.option("--controller-id", required=True)
@click.option("--controller-name", required=True)
@click.option("--purpose", "purposes", multiple=True, required=True)
@click.option("--area", "areas", multiple=True, required=True, help="AREA[:read|write], e.g. work:read")
@click.option("--days", default=90, show_default=True, type=click.IntRange(1, 3650))
@click.option("--notice-url", required=True)
@click.option("--receipt-out", type=click.Path(dir_okay=False, path_type=Path), help="Also write the receipt here.")
def grant_cmd(wallet_path, operator_url, controller_id, controller_name, purposes, areas, days, notice_url, receipt_out) -> None:
    """Sign a consent, have the operator relay it, and keep its receipt."""
    wallet = Wallet.open(wallet_path)
    rec = record.new_record(
        subject=wallet.keys.pseudonym(controller_id),
        controller_id=controller_id,
        controller_name=controller_name,
        purposes=list(purposes),
        data_areas=[_area(a) for a in areas],
        notice_url=notice_url,
        notice_text=notice_url.encode(),
        duration=timedelta(days=days),
    )
    rcpt = citizen.grant(wallet, citizen.OperatorClient(operator_url), rec)
    if receipt_out:
        receipt_out.write_text(json.dumps(rcpt, indent=2) + "\n")
    click.echo(rec["record_id"])


@consent_group.command("revoke")
@wallet_opt
@options.operator_url
@options.chain_url
@click.option("--direct", is_flag=True, help="Send the revocation to the chain yourself, without the operator.")
@click.argument("consent_id")
def revoke_cmd(wallet_path, operator_url, chain_url, direct, consent_id) -> None:
    """Revoke a consent through the operator, or directly on chain."""
    wallet = Wallet.open(wallet_path)
    wallet.consent(consent_id)
    if direct:
        rcpt = wallet.consent(consent_id)["receipt"]
        registry = Registry(ChainClient(chain_url), rcpt["chain"]["contract"])
        out = citizen.revoke_on_chain(wallet, registry, consent_id)
        click.echo(f"revoked on chain in block {out['blockNumber']}")
    else:
        out = citizen.revoke_via_operator(wallet, citizen.OperatorClient(operator_url), consent_id)
        click.echo(f"revoked in block {out['block']} (tx {out['tx']})")


@consent_group.command("list")
@wallet_opt
def list_cmd(wallet_path) -> None:
    """List the consents in the wallet."""
    for cid, c in Wallet.open(wallet_path).data["consents"].items():
        r = c["record"]
        click.echo(f"{cid}  {r['controller']['name']}  {','.join(a['area'] + ':' + a['access'] for a in r['data_areas'])}  until {r['expires_at']}")
