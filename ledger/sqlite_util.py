"""SQLite connections configured for durability: WAL, synchronous=FULL, foreign keys."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path


def connect(path: str | Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


class ThreadLocalConnections:
    """One reader connection per thread (WAL readers never block the writer)."""

    def __init__(self, path: str | Path):
        self._path = path
        self._local = threading.local()

    def get(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = connect(self._path)
        return conn
