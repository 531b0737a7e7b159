"""Versioned schema migrations: the numbered SQL files in `migrations/`, applied in order.

`schema_migrations` records each applied version. Replicas starting together serialise on
a transaction-level advisory lock, and each file runs in its own transaction with its
record, so a migration is applied whole and exactly once.
"""

from __future__ import annotations

from importlib import resources

from .pool import PostgresDatabase

MIGRATION_LOCK = 0x6D7964617461  # pg_advisory_xact_lock key: "mydata"


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, SQL) of every migration shipped, in order."""
    found = []
    for item in resources.files(__package__).joinpath("migrations").iterdir():
        if item.name.endswith(".sql"):
            found.append((int(item.name.split("_", 1)[0]), item.name, item.read_text()))
    return sorted(found)


def applied(db: PostgresDatabase) -> list[int]:
    with db.connection() as conn:
        exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
        if not exists or not exists[0]:
            return []
        return [row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]


def migrate(db: PostgresDatabase) -> list[str]:
    """Apply every migration not applied yet; returns the names applied now."""
    done = []
    for version, name, sql in migrations():
        with db.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations"
                " (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            if conn.execute("SELECT 1 FROM schema_migrations WHERE version = %s", (version,)).fetchone():
                continue
            conn.execute(sql)
            conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, name))
            done.append(name)
    return done
