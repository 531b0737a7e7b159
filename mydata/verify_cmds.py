"""`mydata verify-receipt` and `mydata audit`: verification needing no trust in the operator."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ledger import audit, receipt
from ledger.registry import registry_factory

from . import main, options
from .citizen_cmds import EXIT_EXPIRED, EXIT_REVOKED


@main.command("verify-receipt")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@options.chain_url
@click.option("--vkey", help="Pin the log's verifier key instead of trusting the receipt's.")
@click.option("--citizen", help="The citizen id (citizen:…) the consent must be authorized by.")
@options.witness_keys
@options.witness_quorum
def verify_receipt_cmd(file: Path, chain_url: str, vkey: str | None, citizen: str | None, witness_keys: tuple[str, ...], witness_quorum: int | None) -> None:
    """Verify a consent receipt offline, against a chain node only.

    \b
    Exit status:
      0  the receipt is valid and the consent active
      1  the receipt is invalid (the failing part is named), or it could not be checked
      3  the receipt is valid but the consent was revoked
      4  the receipt is valid but the consent has expired
    """
    try:
        data = json.loads(file.read_text())
    except ValueError as exc:
        raise click.ClickException(f"{file} is not JSON: {exc}") from None
    policy = options.witness_policy(witness_keys, witness_quorum)
    report = receipt.verify(data, registry_factory(chain_url), vkey, citizen, policy)
    for line in report.checks:
        click.echo(f"ok  {line}")
    click.echo(f"receipt valid; consent {report.consent_id} is {report.status}")
    if report.status != "active":
        click.echo(f"Error: consent {report.consent_id} is {report.status}: it no longer allows anything", err=True)
        sys.exit(EXIT_REVOKED if report.status == "revoked" else EXIT_EXPIRED)


@main.command("audit")
@options.operator_url
@options.chain_url
@click.option("--state", "state_path", type=click.Path(dir_okay=False, path_type=Path), default=options.DEFAULT_DATA / "auditor" / "state.json", show_default=True)
@click.option("--vkey", help="Pin the log's verifier key (otherwise trusted on first use).")
@options.witness_keys
@options.witness_quorum
def audit_cmd(operator_url: str, chain_url: str, state_path: Path, vkey: str | None, witness_keys: tuple[str, ...], witness_quorum: int | None) -> None:
    """Verify the operator's log, its consistency since last time, and its chain anchors
    (with --witness: and that enough witnesses cosigned the latest anchored checkpoint)."""
    policy = options.witness_policy(witness_keys, witness_quorum)
    console = Console(stderr=True)
    with Progress(TextColumn("auditing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console, transient=True) as bar:
        task = bar.add_task("entries", total=None)
        report = audit.run_audit(
            operator_url,
            registry_factory(chain_url),
            state_path,
            vkey,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
            witnesses=policy,
        )
    table = Table(title=f"audit of {report.origin}: OK", show_header=False)
    table.add_row("log size", f"{report.size} (verified before: {report.previous_size})")
    table.add_row("root", report.root)
    table.add_row("anchors checked", str(report.anchors_checked))
    table.add_row("chain grants/revocations matched", str(report.chain_events_checked))
    if policy is not None:
        table.add_row("latest anchor cosigned by", ", ".join(report.cosigners) or "no witness")
    for kind, n in sorted(report.entries_by_type.items()):
        table.add_row(f"entries {kind}", str(n))
    Console().print(table)
