"""A process's PostgreSQL pool hands out only live connections, without a round trip to
find out: a connection whose session the server ended is replaced at checkout."""

from __future__ import annotations

import psycopg

from storage.postgres.pool import PostgresDatabase


def test_a_connection_whose_session_the_server_ended_is_replaced_at_checkout(pg_url):
    db = PostgresDatabase(pg_url, pool_size=1)
    try:
        with db.connection() as conn:
            ended = conn.info.backend_pid
        with psycopg.connect(pg_url, autocommit=True) as admin:  # as a restart or an idle timeout would
            assert admin.execute("SELECT pg_terminate_backend(%s, 5000)", (ended,)).fetchone()[0]
        with db.connection() as conn:  # no StorageUnavailable: the dead one was never handed out
            assert conn.execute("SELECT pg_backend_pid()").fetchone()[0] != ended
    finally:
        db.close()


def test_a_checkout_sends_nothing_to_the_server(pg_url):
    """The liveness check reads the socket's state only: a ping per checkout cost a release
    five of its thirteen statements. The server's record of the session's last statement
    shows whether a checkout sent one."""
    db = PostgresDatabase(pg_url, pool_size=1)
    try:
        with db.connection() as conn:
            pid = conn.info.backend_pid
            conn.execute("SELECT 'the last statement'")
        for _ in range(3):
            with db.connection() as conn:
                assert conn.info.backend_pid == pid
        with psycopg.connect(pg_url, autocommit=True) as admin:
            last = admin.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()[0]
        assert last == "SELECT 'the last statement'"
    finally:
        db.close()
