"""SQLite connections configured for durability: WAL, synchronous=FULL, foreign keys."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

WAL_SWITCH_ATTEMPTS = 200  # × 50 ms: how long a fresh database may stay locked by its creator


def connect(path: str | Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
    _use_wal(conn)
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def _use_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL (kept in the file). When several processes open a fresh database at
    once (gunicorn's workers starting), SQLite can refuse the switch with "database is
    locked" at once, without waiting out the busy timeout: retry."""
    for attempt in range(WAL_SWITCH_ATTEMPTS):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == WAL_SWITCH_ATTEMPTS - 1:
                raise
            time.sleep(0.05)


class ThreadLocalConnections:
    """One reader connection per thread (or greenlet) while it lives, taken from a pool of
    idle connections and given back when the thread ends. Under gevent every HTTP
    connection is served by a new greenlet, and `threading.local` is per greenlet: without
    the pool, each would open the database again (a file open and its PRAGMAs). WAL readers
    never block the writer."""

    def __init__(self, path: str | Path, idle_max: int = 16):
        self._path = path
        self._local = threading.local()
        self._idle: list[sqlite3.Connection] = []
        self._idle_max = idle_max
        self._lock = threading.Lock()
        self.opened = 0  # connections opened so far (the rest were reused)

    def get(self) -> sqlite3.Connection:
        lease = getattr(self._local, "lease", None)
        if lease is None:
            lease = self._local.lease = _Lease(self, self._take())
        return lease.conn

    def _take(self) -> sqlite3.Connection:
        with self._lock:
            if self._idle:
                return self._idle.pop()
            self.opened += 1
        return connect(self._path)

    def give_back(self, conn: sqlite3.Connection) -> None:
        """Keep a connection whose thread ended for the next one (closed past `idle_max`)."""
        if conn.in_transaction:
            conn.rollback()
        with self._lock:
            if len(self._idle) < self._idle_max:
                self._idle.append(conn)
                return
        conn.close()


class _Lease:
    """A thread's hold on a pooled connection: when the thread (or greenlet) ends, its
    thread-local storage is released and the connection goes back to the pool."""

    def __init__(self, pool: ThreadLocalConnections, conn: sqlite3.Connection):
        self.pool, self.conn = pool, conn

    def __del__(self) -> None:
        try:
            self.pool.give_back(self.conn)
        except Exception:  # noqa: BLE001 - interpreter shutdown: nothing left to give back to
            pass


class Writer:
    """A process's one write connection to a database, shared by its threads (or greenlets)
    one transaction at a time: SQLite connections have a single transaction state, so two
    threads writing through one connection unguarded would nest BEGINs and interleave
    statements of different transactions."""

    def __init__(self, path: str | Path, schema: str = ""):
        self.conn = connect(path)
        self._lock = threading.Lock()
        if schema:
            self.conn.executescript(schema)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT (ROLLBACK on any exception), exclusive in this process."""
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise

    def execute(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        """One statement as its own transaction."""
        with self.transaction() as conn:
            return conn.execute(sql, args)

    def erase(self, statements: list[tuple[str, tuple[Any, ...]]]) -> int:
        """`erase` through this connection, exclusive in this process."""
        with self._lock:
            return erase(self.conn, statements)


def erase(conn: sqlite3.Connection, statements: list[tuple[str, tuple[Any, ...]]]) -> int:
    """Delete rows for good (GDPR erasure): one transaction with secure_delete on, so freed
    pages are zeroed, then a WAL checkpoint so no old copy survives in the write-ahead log.
    Returns the number of rows deleted."""
    conn.execute("PRAGMA secure_delete=ON")
    conn.execute("BEGIN IMMEDIATE")
    try:
        deleted = sum(conn.execute(sql, args).rowcount for sql, args in statements)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return deleted
