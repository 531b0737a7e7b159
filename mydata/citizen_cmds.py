"""`mydata citizen …` and `mydata consent …`: the citizen's side, from the command line."""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta
from pathlib import Path

import click
import requests

from ledger import citizen, record
from ledger.chain import ChainClient, is_development_chain
from ledger.registry import Registry
from ledger.wallet import Wallet

from . import main, options
from .ports import DEFAULT, local_url

wallet_opt = click.option(
    "--wallet", "wallet_path", type=click.Path(dir_okay=False, path_type=Path), default=options.DEFAULT_DATA / "citizen" / "wallet.json",
    show_default=True, envvar="MYDATA_WALLET", help="The citizen's wallet file (or MYDATA_WALLET).",
)
pds_opt = click.option("--pds", "pds_url", default=local_url(DEFAULT.pds), show_default=True, envvar="MYDATA_PDS", help="PDS base URL (for changing the locks).")

# Exit codes of `mydata verify-receipt` beyond 0 (valid and active) and 1 (invalid, or an error).
EXIT_REVOKED, EXIT_EXPIRED = 3, 4


@main.group("citizen")
def citizen_group() -> None:
    """Create or restore a citizen identity (recovery phrase)."""


def _passphrase(new: bool = False) -> str:
    """The wallet's passphrase: MYDATA_PASSPHRASE, else asked on the terminal (twice for a new
    wallet). Never an option: a command line is visible to every user of the machine."""
    given = os.environ.get("MYDATA_PASSPHRASE")
    if given is not None:
        return given
    return str(click.prompt("Wallet passphrase" if not new else "Passphrase for the new wallet", hide_input=True, confirmation_prompt=new, err=True))


def _open_wallet(path: Path) -> Wallet:
    """The wallet at `path`, unlocked with the citizen's passphrase."""
    return Wallet.open(path, _passphrase())


def _new_wallet(path: Path, phrase: str | None = None) -> Wallet:
    if path.exists():
        raise click.ClickException(f"a wallet already exists at {path}: give another with --wallet PATH (or MYDATA_WALLET)")
    return Wallet.create(path, _passphrase(new=True), phrase)


@citizen_group.command("create")
@wallet_opt
def create_cmd(wallet_path: Path) -> None:
    """Create a wallet with a new 24-word recovery phrase, sealed under a passphrase
    (MYDATA_PASSPHRASE, or asked twice), and print the phrase."""
    click.echo(_new_wallet(wallet_path).phrase)


@citizen_group.command("restore")
@wallet_opt
def restore_cmd(wallet_path: Path) -> None:
    """Restore a wallet from a recovery phrase read on standard input, sealed under a
    passphrase (MYDATA_PASSPHRASE, or asked twice on the terminal)."""
    _new_wallet(wallet_path, sys.stdin.read().strip())
    click.echo(f"restored {wallet_path}")


@main.group("consent")
def consent_group() -> None:
    """Grant, revoke and list consents."""


def _area(value: str) -> dict[str, str]:
    """AREA[:read|write], an area being a CV section."""
    from pds.resume import AREAS

    area, _, access = value.partition(":")
    if area not in AREAS:
        raise click.BadParameter(f"unknown area {area!r}: the areas are {', '.join(AREAS)}", param_hint="--area")
    return {"area": area, "access": access or "read"}


def _notice(url: str, file: Path | None) -> bytes:
    """The notice document whose SHA-256 the record pins: the file given, or what the URL serves."""
    if file is not None:
        return file.read_bytes()
    try:
        resp = requests.get(url, timeout=10)
        resp.raise_for_status()
    except requests.RequestException as exc:
        raise click.ClickException(f"cannot fetch the notice at {url} ({type(exc).__name__}): give its text with --notice-file") from None
    return resp.content


@consent_group.command("grant")
@wallet_opt
@options.operator_url
@click.option("--controller-id", required=True)
@click.option("--controller-name", required=True)
@click.option("--purpose", "purposes", multiple=True, required=True)
@click.option("--area", "areas", multiple=True, required=True, help="AREA[:read|write], e.g. work:read")
@click.option("--days", default=90, show_default=True, type=click.IntRange(1, 3650))
@click.option("--notice-url", required=True, help="Where the privacy notice is published.")
@click.option("--notice-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="The notice's text (else fetched from --notice-url).")
@click.option("--receipt-out", type=click.Path(dir_okay=False, path_type=Path), help="Also write the receipt here.")
def grant_cmd(wallet_path, operator_url, controller_id, controller_name, purposes, areas, days, notice_url, notice_file, receipt_out) -> None:
    """Sign a consent, have the operator relay it, and keep its receipt."""
    data_areas = [_area(a) for a in areas]
    wallet = _open_wallet(wallet_path)
    rec = record.new_record(
        subject=wallet.keys.pseudonym(controller_id),
        controller_id=controller_id,
        controller_name=controller_name,
        purposes=list(purposes),
        data_areas=data_areas,
        notice_url=notice_url,
        notice_text=_notice(notice_url, notice_file),
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
@pds_opt
@click.option("--direct", is_flag=True, help="Send the revocation to the chain without the operator.")
@click.option(
    "--gas-key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="With --direct: a file holding the hex private key of an account that pays the gas. Without it, on a chain other "
    "than a development chain, the signed revocation is printed for any relayer to submit.",
)
@click.argument("consent_id")
def revoke_cmd(wallet_path, operator_url, chain_url, pds_url, direct, gas_key, consent_id) -> None:
    """Revoke a consent, through the operator or directly on chain, then change the locks of
    the areas it could read (new data keys), as the citizen app does."""
    from eth_account import Account

    from web.citizen_agent import CitizenAgent, Endpoints

    agent = CitizenAgent(_open_wallet(wallet_path), Endpoints(operator_url, pds_url, chain_url))
    agent.wallet.consent(consent_id)
    if direct:
        registry = agent.registry
        if gas_key is None and not is_development_chain(registry.chain_id):
            click.echo(json.dumps(citizen.signed_revocation(agent.wallet, registry.chain_id, registry.address, consent_id), indent=2))
            click.echo("not sent: submit this signed revocation with any relayer (ConsentRegistry.revokeBySig, or an operator's /ledger/revocations)", err=True)
            return
        payer = Account.from_key(gas_key.read_text().strip()) if gas_key else None
        out = citizen.revoke_on_chain(agent.wallet, registry, consent_id, payer)
        click.echo(f"revoked on chain in block {out['blockNumber']}")
    else:
        out = citizen.revoke_via_operator(agent.wallet, agent.operator, consent_id)
        click.echo(f"revoked in block {out['block']} (tx {out['tx']})")
    relocked = agent.change_locks_of(consent_id)
    click.echo(f"new data keys for {', '.join(relocked) or 'no stored area'}")


@consent_group.command("list")
@wallet_opt
@options.chain_url
def list_cmd(wallet_path, chain_url) -> None:
    """List the consents in the wallet with their state on chain (active, expired, revoked)."""
    from rich.console import Console
    from rich.table import Table

    from httpkit.readable import when

    wallet = _open_wallet(wallet_path)
    table = Table("service", "areas", "granted", "until", "state", "consent", title=f"consents in {wallet_path}")
    registries: dict[str, Registry] = {}
    for cid, c in wallet.data["consents"].items():
        r = c["record"]
        contract = (c.get("receipt") or {}).get("chain", {}).get("contract")
        state = "unknown (no receipt)"
        if contract:
            registry = registries.setdefault(contract, Registry(ChainClient(chain_url), contract))
            state = _state(registry, cid)
        areas = ", ".join(f"{a['access']} {a['area']}" for a in r["data_areas"])
        table.add_row(r["controller"]["name"], areas, when(r["granted_at"]), when(r["expires_at"]), state, cid[:18] + "…")
    Console(width=160).print(table)


def _state(registry: Registry, consent_id: str) -> str:
    return registry.consent(bytes.fromhex(consent_id[2:])).state(registry.client.w3.eth.get_block("latest")["timestamp"])
