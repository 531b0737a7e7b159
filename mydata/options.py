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

witness_keys = click.option(
    "--witness", "witness_keys", multiple=True, metavar="VKEY", help="A witness's verifier key (name+hexid+key) to trust; repeat for more."
)
witness_quorum = click.option(
    "--witness-quorum", type=click.IntRange(min=0), default=None, help="How many of the --witness keys must have cosigned [default: all]."
)


def witness_policy(vkeys: tuple[str, ...], quorum: int | None):  # -> WitnessPolicy | None
    """The k-of-n policy the --witness and --witness-quorum options name (None if no witness)."""
    from ledger.tlog.cosignature import WitnessPolicy

    if not vkeys:
        if quorum:
            raise click.UsageError("--witness-quorum needs --witness keys")
        return None
    return WitnessPolicy.parse(len(vkeys) if quorum is None else quorum, list(vkeys))
