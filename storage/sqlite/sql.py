"""An SqlDatabase on one SQLite file: one writer connection per process, a reader per thread."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .connections import ThreadLocalConnections, Writer


def _qmark(sql: str) -> str:
    return sql.replace("%s", "?")


class _Transaction:
    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn

    def execute(self, sql: str, args: tuple[Any, ...] = ()) -> int:
        return int(self._conn.execute(_qmark(sql), args).rowcount)


class SqliteSql:
    """The database at `path`, created with `schema` (SQLite DDL) when opened."""

    def __init__(self, path: str | Path, schema: str):
        self._writer = Writer(path, schema)
        self._readers = ThreadLocalConnections(path)

    def rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self._readers.get().execute(_qmark(sql), args).fetchall()

    def execute(self, sql: str, args: tuple[Any, ...] = ()) -> int:
        return self._writer.execute(_qmark(sql), args).rowcount

    @contextmanager
    def transaction(self) -> Iterator[_Transaction]:
        with self._writer.transaction() as conn:
            yield _Transaction(conn)

    def erase(self, statements: list[tuple[str, tuple[Any, ...]]]) -> int:
        """secure_delete and a WAL checkpoint (connections.erase): no old copy survives."""
        return self._writer.erase([(_qmark(sql), args) for sql, args in statements])
