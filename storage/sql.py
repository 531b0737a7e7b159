"""The few operations a store written in portable SQL needs from its database.

Stores that keep plain rows (the operator's directory, the PDS) write their SQL once, in
PostgreSQL's parameter style (`%s`), and run it on either engine through an `SqlDatabase`:
storage/sqlite/sql.py or storage/postgres/sql.py.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol


class SqlTransaction(Protocol):
    def execute(self, sql: str, args: tuple[Any, ...] = ()) -> int:
        """Run one statement; the number of rows it changed."""
        ...


class SqlDatabase(Protocol):
    def rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]: ...

    def execute(self, sql: str, args: tuple[Any, ...] = ()) -> int:
        """One statement as its own transaction; the number of rows it changed."""
        ...

    def transaction(self) -> AbstractContextManager[SqlTransaction]: ...

    def erase(self, statements: list[tuple[str, tuple[Any, ...]]]) -> int:
        """Delete rows for good (erasure) in one transaction, leaving no copy the engine
        would keep around; the number of rows deleted."""
        ...
