"""Locks that hold across replicas: PostgreSQL advisory locks.

`AdvisoryLock` is a re-entrant mutual exclusion for short sections (the chain follower's
sync, the operator account's transactions): the first entry in a process takes
`pg_advisory_lock` on a connection kept for the section, nested entries in the same thread
only count. `hold` takes a session-level lock for as long as the process lives (the replica
that follows the chain and anchors): the server releases it when the holder's connection
dies, so another replica takes over within one poll.
"""

from __future__ import annotations

import threading
import zlib
from contextlib import AbstractContextManager

import psycopg

from ..errors import StorageUnavailable
from .pool import PostgresDatabase


def lock_key(name: str) -> int:
    """A stable 63-bit advisory lock key for `name`."""
    return zlib.crc32(b"mydata:" + name.encode()) | (0x6D79 << 32)


class AdvisoryLock:
    def __init__(self, db: PostgresDatabase, name: str):
        self._db, self._key = db, lock_key(name)
        self._thread = threading.RLock()
        self._depth = 0
        self._section: AbstractContextManager[psycopg.Connection] | None = None  # the pooled connection of the current holder

    def __enter__(self) -> AdvisoryLock:
        self._thread.acquire()
        if self._depth == 0:
            try:
                section = self._db.connection()
                conn = section.__enter__()
                conn.execute("SELECT pg_advisory_lock(%s)", (self._key,))
            except BaseException:
                self._thread.release()
                raise
            self._section, self._conn = section, conn
        self._depth += 1
        return self

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        try:
            if self._depth == 0:
                section, self._section = self._section, None
                assert section is not None
                try:
                    self._conn.execute("SELECT pg_advisory_unlock(%s)", (self._key,))
                except psycopg.Error:
                    pass  # the connection is gone, and the server released the lock with it
                finally:
                    section.__exit__(None, None, None)
        finally:
            self._thread.release()


class Leadership:
    """A session-level advisory lock held on its own connection until `release` or death."""

    def __init__(self, conn: psycopg.Connection):
        self._conn = conn

    def alive(self) -> bool:
        """False once the connection (and with it the lock) is lost: stop leading."""
        try:
            self._conn.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    def release(self) -> None:
        self._conn.close()


def hold(db: PostgresDatabase, name: str) -> Leadership | None:
    """Take `name` for the life of this process if no replica holds it; None otherwise."""
    try:
        conn = psycopg.connect(db.url, autocommit=True)
    except psycopg.OperationalError as exc:
        raise StorageUnavailable(f"cannot reach the database to take {name}: {exc}") from None
    taken = conn.execute("SELECT pg_try_advisory_lock(%s)", (lock_key(name),)).fetchone()
    if taken is not None and taken[0]:
        return Leadership(conn)
    conn.close()
    return None
