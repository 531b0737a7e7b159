"""`mydata operator` and `mydata anchor`."""

from __future__ import annotations

from pathlib import Path

import click
import requests

from . import main, options
from .ports import DEFAULT


def operator_config(chain_url: str, data_dir: Path, anchor_every: int, anchor_seconds: float, pds_url: str | None = None, **extra):
    from consent_operator.config import OperatorConfig

    return OperatorConfig(
        data_dir=data_dir,
        chain_url=chain_url,
        deployment_file=data_dir / "deployment.json",
        anchor_every_entries=anchor_every,
        anchor_every_seconds=anchor_seconds,
        pds_url=pds_url,
        **extra,
    )


def summed_metrics(data_dir: Path, port: int) -> None:
    """Make the gunicorn workers' counters one sum at /metrics: prometheus_client picks its
    multiprocess mode when first imported, so this must run before anything imports
    consent_operator. One folder per port: replicas on one host keep their own."""
    import os
    import shutil

    metrics_dir = data_dir / "metrics" / str(port)
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)


def serve_operator(config, port: int, workers: int = 2) -> None:
    """Serve the operator under gunicorn on 127.0.0.1:port until stopped."""
    from consent_operator.gunicorn_app import OperatorServer

    click.echo(f"operator: http://127.0.0.1:{port} ({workers} gevent workers)", err=True)
    OperatorServer(config, port, workers).run()


@main.group("operator", invoke_without_command=True)
@click.pass_context
@options.chain_url
@options.data_dir
@click.option("--port", default=DEFAULT.operator, show_default=True)
@click.option("--anchor-every", default=100, show_default=True, help="Anchor after this many new entries.")
@click.option("--anchor-seconds", default=30.0, show_default=True, help="…or after this many seconds with new entries.")
@click.option("--workers", default=2, show_default=True, help="gunicorn worker processes.")
@click.option("--pds", "pds_url", default=None, envvar="MYDATA_PDS", help="PDS base URL for the data path.")
@options.database_url
@click.option(
    "--confirmations", type=click.IntRange(min=0), default=None,
    help="Blocks deep before a chain event is logged and counts [default: 0 on a development chain, else 2].",
)
@click.option("--witness", "witnesses", multiple=True, metavar="URL=VKEY", help="A witness that cosigns each checkpoint before it is anchored; repeat for more.")
@click.option(
    "--requests-per-key", default="2000/second", show_default=True, callback=lambda ctx, param, value: _rate(value),
    help="Accepted requests per service or citizen key (per worker on SQLite, shared on PostgreSQL).",
)
@click.option("--eth-call-per-release", is_flag=True, hidden=True, help="Benchmark baseline: ask the chain on every release.")
def operator_cmd(
    ctx, chain_url, data_dir, port, anchor_every, anchor_seconds, workers, pds_url, database_url, confirmations, witnesses, requests_per_key, eth_call_per_release
) -> None:
    """Serve the operator (audit log, ledger, consent and data APIs) on 127.0.0.1 under gunicorn.

    It first checks every stored log hash against the entries and refuses to start on a mismatch."""
    if ctx.invoked_subcommand:
        return
    summed_metrics(data_dir, port)
    from consent_operator.access.rate_limits import RateLimitConfig

    config = operator_config(
        chain_url, data_dir, anchor_every, anchor_seconds, pds_url, database_url=database_url, confirmations=confirmations,
        witnesses=witnesses, eth_call_per_release=eth_call_per_release, rate_limits=RateLimitConfig(per_key=requests_per_key),
    )
    _check(data_dir, database_url)
    serve_operator(config, port, workers)


def _rate(value: str) -> str:
    """`--requests-per-key`, checked (a click error names a bad value). Nothing of
    consent_operator is imported here: the metrics' mode must be chosen first (summed_metrics)."""
    from limits import parse

    try:
        parse(value)
    except ValueError:
        raise click.ClickException(f"--requests-per-key {value!r} is not a rate such as 2000/second") from None
    return value


def _check(data_dir: Path, database_url: str | None = None) -> int:
    from consent_operator.log.log_check import check_log
    from storage.log import LogCorrupt

    try:
        return check_log(data_dir, database_url=database_url)
    except LogCorrupt as exc:
        raise click.ClickException(f"the audit log is corrupt: {exc}") from None


@operator_cmd.command("init")
@options.data_dir
def operator_init_cmd(data_dir: Path) -> None:
    """Create the operator's keys once (kept if they exist) and print its public identities.

    Copy DATA_DIR to every replica: they must all sign with these keys."""
    from consent_operator.config import OperatorConfig
    from consent_operator.keystore import provision

    for name, value in provision(data_dir, OperatorConfig.log_origin).items():
        click.echo(f"{name}: {value}")


@operator_cmd.command("check")
@options.data_dir
@options.database_url
def operator_check_cmd(data_dir: Path, database_url: str | None) -> None:
    """Recompute every stored hash of the audit log from its entries (run by `mydata operator` at start)."""
    if not database_url and not (data_dir / "log.sqlite").exists():
        raise click.ClickException(f"no audit log in {data_dir}")
    size = _check(data_dir, database_url)
    click.echo(f"audit log: {size} entries, every stored hash matches")


@main.command("anchor")
@options.operator_url
@options.data_dir
def anchor_cmd(operator_url: str, data_dir: Path) -> None:
    """Anchor the operator's latest checkpoint on chain now (uses the admin token in DATA_DIR)."""
    from consent_operator.keystore import admin_token

    resp = requests.post(
        operator_url.rstrip("/") + "/ledger/anchor", headers={"Authorization": f"Bearer {admin_token(data_dir)}"}, timeout=120
    )
    body = resp.json()
    if resp.status_code != 200:
        raise click.ClickException(f"{body.get('title')}: {body.get('detail', '')}")
    click.echo(f"anchored size {body['size']} root {body['root']} in block {body['block']} (tx {body['tx']})")
