"""`mydata db`: the shared database of replicas (PostgreSQL)."""

from __future__ import annotations

import click

from . import main, options


@main.group("db")
def db_group() -> None:
    """The database replicas share (PostgreSQL; SQLite files need no command)."""


@db_group.command("migrate")
@options.database_url
def migrate_cmd(database_url: str | None) -> None:
    """Apply the schema migrations this version ships that the database lacks."""
    import logging

    from storage.backends import PostgresBackend
    from storage.database import database_url as checked_url
    from storage.database import is_postgres, redacted

    if not is_postgres(checked_url(database_url)):
        raise click.ClickException("give --database-url postgresql://… (or MYDATA_DATABASE_URL): SQLite files need no migration")
    logging.getLogger("psycopg.pool").setLevel(logging.CRITICAL)  # its retries would bury the one-line error
    applied = PostgresBackend(database_url).migrate()
    click.echo(f"{redacted(database_url)}: " + (f"applied {', '.join(applied)}" if applied else "up to date"))
