"""A witness's memory: the latest checkpoint it cosigned for each log, in SQLite.

C2SP tlog-witness requires the check of `old` against the stored size and the update to be
one atomic step (else two racing requests could roll the witness back), and the new
checkpoint persisted before the cosignature is returned: one IMMEDIATE transaction holds the
write lock across read, check and write, and synchronous=FULL makes the commit durable.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from .connections import connect

_SCHEMA = "CREATE TABLE IF NOT EXISTS cosigned (origin TEXT PRIMARY KEY, size INTEGER NOT NULL, root BLOB NOT NULL)"

Check = Callable[[int, "bytes | None"], None]  # (stored size, stored root) -> None, or raises


class WitnessState:
    def __init__(self, path: Path):
        self._conn = connect(path)
        self._conn.execute(_SCHEMA)
        self._lock = threading.Lock()  # one connection: one transaction at a time

    def latest(self, origin: str) -> tuple[int, bytes | None]:
        """(size, root) last cosigned for `origin`; (0, None) if never."""
        with self._lock:
            row = self._conn.execute("SELECT size, root FROM cosigned WHERE origin=?", (origin,)).fetchone()
        return (row[0], bytes(row[1])) if row else (0, None)

    def advance(self, origin: str, size: int, root: bytes, check: Check) -> None:
        """Store (size, root) for `origin` if `check(stored size, stored root)` passes, as
        one atomic and durable step; whatever `check` raises leaves the state unchanged."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                row = self._conn.execute("SELECT size, root FROM cosigned WHERE origin=?", (origin,)).fetchone()
                check(*((row[0], bytes(row[1])) if row else (0, None)))
                self._conn.execute(
                    "INSERT INTO cosigned (origin, size, root) VALUES (?, ?, ?) ON CONFLICT (origin) DO UPDATE SET size=excluded.size, root=excluded.root",
                    (origin, size, root),
                )
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
