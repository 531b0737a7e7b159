"""`mydata witness`: a transparency-log witness (C2SP tlog-witness) for the operator's log."""

from __future__ import annotations

from pathlib import Path

import click

from . import main, options


@main.command("witness")
@click.option("--name", required=True, help="The witness's key name, e.g. witness.example/w1 (verifiers pin name and key).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=options.DEFAULT_DATA / "witness", show_default=True)
@click.option("--log", "logs", multiple=True, help="Verifier key of a log to witness (name+hexid+key); repeat for more logs.")
@click.option("--port", default=8980, show_default=True)
@click.option("--print-vkey", is_flag=True, help="Print the witness's verifier key (creating its key if needed) and exit.")
def witness_cmd(name: str, data_dir: Path, logs: tuple[str, ...], port: int, print_vkey: bool) -> None:
    """Serve a witness on 127.0.0.1: it cosigns a log's checkpoint only if it extends the last
    one it cosigned (POST /add-checkpoint), and keeps that in DATA_DIR."""
    from witness.keys import cosigner

    signer = cosigner(data_dir, name)
    if print_vkey:
        click.echo(signer.key.vkey)
        return
    if not logs:
        raise click.UsageError("give the verifier key of at least one log to witness (--log)")
    from httpkit.serving import GunicornServer
    from ledger.tlog.note import Verifier
    from witness.app import create_app

    for vkey in logs:
        Verifier.from_vkey(vkey)  # a bad log key fails here, in one line, not in a worker
    click.echo(f"witness {signer.key.vkey}: http://127.0.0.1:{port}", err=True)
    GunicornServer(lambda: create_app(data_dir, signer, list(logs)), port, 1).run()
