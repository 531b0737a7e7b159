"""An SqlDatabase on PostgreSQL (pooled connections of one process)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from .pool import PostgresDatabase


class _Transaction:
    def __init__(self, conn: psycopg.Connection):
        self._conn = conn

    def execute(self, sql: str, args: tuple[Any, ...] = ()) -> int:
        return self._conn.execute(sql, args).rowcount


class PostgresSql:
    def __init__(self, db: PostgresDatabase):
        self.db = db

    def rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.db.connection() as conn:
            return conn.execute(sql, args).fetchall()

    def execute(self, sql: str, args: tuple[Any, ...] = ()) -> int:
        with self.db.connection() as conn:
            return conn.execute(sql, args).rowcount

    @contextmanager
    def transaction(self) -> Iterator[_Transaction]:
        with self.db.transaction() as conn:
            yield _Transaction(conn)

    def erase(self, statements: list[tuple[str, tuple[Any, ...]]]) -> int:
        """Delete in one transaction, then vacuum the tables so their space is reused."""
        with self.db.transaction() as conn:
            deleted = sum(conn.execute(sql, args).rowcount for sql, args in statements)
        tables = {sql.split()[2] for sql, _ in statements}  # DELETE FROM <table> …
        with self.db.connection() as conn:
            for table in sorted(tables):
                conn.execute(f"VACUUM {table}")
        return deleted
