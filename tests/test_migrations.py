"""Schema migrations on a real PostgreSQL: `mydata db migrate` applies each shipped
migration once, replicas starting together never apply one twice, and bad URLs get one
clear line."""

from __future__ import annotations

import os
import secrets
import threading

import psycopg

from storage.backends import PostgresBackend
from storage.postgres.migrate import applied, migrations

from .helpers import mydata


def test_mydata_db_migrate_applies_every_migration_once(postgres):
    url = postgres.create_database("m_" + secrets.token_hex(4))
    first = mydata("db", "migrate", "--database-url", url)
    assert first.returncode == 0 and "applied 0001_shared_request_state.sql" in first.stdout
    again = mydata("db", "migrate", env={**os.environ, "MYDATA_DATABASE_URL": url})
    assert again.returncode == 0 and "up to date" in again.stdout
    with psycopg.connect(url) as db:
        assert db.execute("SELECT version FROM schema_migrations").fetchall() == [(v,) for v, _, _ in migrations()]


def test_replicas_migrating_at_once_apply_each_migration_exactly_once(postgres):
    url = postgres.create_database("m_" + secrets.token_hex(4))
    backends = [PostgresBackend(url) for _ in range(4)]
    results: list[list[str]] = []
    threads = [threading.Thread(target=lambda b=b: results.append(b.migrate())) for b in backends]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done = [name for r in results for name in r]
    assert sorted(done) == [name for _, name, _ in migrations()]  # each applied once, by one of them
    assert applied(backends[0].db) == [v for v, _, _ in migrations()]
    for b in backends:
        b.db.close()


def test_bad_database_urls_get_one_line_and_a_non_zero_exit():
    for args, message in [
        (["--database-url", "mysql://x/y"], "unsupported database URL scheme"),
        (["--database-url", "sqlite:///tmp/x"], "SQLite files need no migration"),
        (["--database-url", "postgresql://nobody@127.0.0.1:1/none"], "is unavailable"),
    ]:
        done = mydata("db", "migrate", *args, check=False)
        assert done.returncode == 1 and message in done.stderr and "Traceback" not in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
