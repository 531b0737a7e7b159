"""Locks that hold across replicas: PostgreSQL advisory locks.

`AdvisoryLock` is a re-entrant mutual exclusion for short sections (the chain follower's
sync, the operator account's transactions): the first entry in a process takes
`pg_advisory_lock` on a connection kept for the section, nested entries in the same thread
only count. `LeadershipSession.try_hold` takes a session-level lock for as long as the
process lives (the replica that follows the chain and anchors): the server releases it
when the holder's session dies, so another replica takes over within one poll.
"""

from __future__ import annotations

import os
import threading
import zlib
from contextlib import AbstractContextManager

import psycopg

from ..errors import StorageUnavailable
from .pool import PostgresDatabase

APPLICATION_NAME = "mydata leadership, pid "  # the session's name, for operators (pg_stat_activity)


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
    """A session-level advisory lock held on its process's leadership session until
    `release` or the session's death."""

    def __init__(self, session: LeadershipSession, conn: psycopg.Connection, name: str):
        self._session, self._conn, self._name = session, conn, name

    def alive(self) -> bool:
        """False once the session (and with it the lock) is lost: stop leading."""
        return self._session.still_holds(self._conn, self._name)

    def release(self) -> None:
        self._session.let_go(self._conn, self._name)


class LeadershipSession:
    """The one connection on which a process seeks and holds its session-level locks.

    A process that does not lead seeks again every second or so: on a session kept for it
    that is one statement, where a new session per attempt cost the server ~9 ms of CPU
    (a backend started and authenticated) and the client ~2 ms, once a second per lock per
    process. A name this session holds already is not given twice (advisory locks count
    re-entries within a session). Made again after a fork (a connection never crosses one)
    and after the session is lost, which loses every lock held on it."""

    def __init__(self, db: PostgresDatabase):
        self._db = db
        self._conn: psycopg.Connection | None = None
        self._pid = 0
        self._held: set[str] = set()
        self._lock = threading.Lock()
        db.on_close(self.close)

    def try_hold(self, name: str) -> Leadership | None:
        """Take `name` for the life of this process if no session holds it; None otherwise.
        A kept session found lost is replaced at once (every lock it held went with it)."""
        with self._lock:
            kept = self._current()
            if kept is not None:
                if name in self._held:
                    return None
                try:
                    return self._take(kept, name)
                except psycopg.Error:
                    self._forget_session()
            conn = self._connect(name)
            try:
                return self._take(conn, name)
            except psycopg.Error as exc:
                self._forget_session()
                raise StorageUnavailable(f"lost the database session while seeking {name}: {exc}") from None

    def _take(self, conn: psycopg.Connection, name: str) -> Leadership | None:
        taken = conn.execute("SELECT pg_try_advisory_lock(%s)", (lock_key(name),)).fetchone()
        if not (taken and taken[0]):
            return None
        self._held.add(name)
        return Leadership(self, conn, name)

    def still_holds(self, conn: psycopg.Connection, name: str) -> bool:
        with self._lock:
            if conn is not self._current() or name not in self._held:
                return False
            try:
                conn.execute("SELECT 1")
            except psycopg.Error:
                self._forget_session()
                return False
            return True

    def let_go(self, conn: psycopg.Connection, name: str) -> None:
        with self._lock:
            if conn is self._current() and name in self._held:
                self._held.discard(name)
                try:
                    conn.execute("SELECT pg_advisory_unlock(%s)", (lock_key(name),))
                except psycopg.Error:
                    self._forget_session()  # the server released it with the session

    def close(self) -> None:
        with self._lock:
            if self._current() is not None:
                self._forget_session()

    def _current(self) -> psycopg.Connection | None:
        """This process's open session, if it has one."""
        if self._conn is None or self._pid != os.getpid() or self._conn.closed:
            return None
        return self._conn

    def _connect(self, name: str) -> psycopg.Connection:
        self._held = set()  # whatever a lost or inherited session held is gone
        try:
            self._conn = psycopg.connect(self._db.url, autocommit=True, application_name=f"{APPLICATION_NAME}{os.getpid()}")
        except psycopg.OperationalError as exc:
            raise StorageUnavailable(f"cannot reach the database to take {name}: {exc}") from None
        self._pid = os.getpid()
        return self._conn

    def _forget_session(self) -> None:
        if self._pid == os.getpid() and self._conn is not None:
            self._conn.close()
        self._conn, self._held = None, set()
