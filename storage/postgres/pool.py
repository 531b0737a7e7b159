"""A process's connections to one PostgreSQL database.

Each process gets its own `psycopg_pool.ConnectionPool`, opened on first use in that
process: gunicorn forks its workers after the app is built, and a pool (its sockets and
its worker threads) must never cross a fork. Under gevent, psycopg waits cooperatively.

Every failure to reach the server becomes `StorageUnavailable` (HTTP 503, retry later):
a restarting PostgreSQL costs requests made meanwhile, never data already acknowledged.
"""

from __future__ import annotations

import os
import select
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from ..database import redacted
from ..errors import StorageUnavailable

POOL_SIZE = 8  # per process: gevent workers run many requests at once, each briefly
WAIT_SECONDS = 5.0  # how long a request waits for a free connection before 503


def _still_open(conn: psycopg.Connection) -> None:
    """Raise if the server has closed this idle connection, without a round trip: an idle
    connection's socket turns readable only when the server sends something unasked (the
    notice before it terminates the session) or closes it. The pool runs this at every
    checkout, where a ping (psycopg_pool's check_connection) cost a release 5 of its
    13 statements (bench/release_statements.py)."""
    if conn.closed or select.select([conn.fileno()], [], [], 0)[0]:
        conn.close()  # (the pool takes back a connection that failed its check, and keeps it unless closed)
        raise psycopg.OperationalError("the server closed this connection")


class PostgresDatabase:
    """Connections to the database at `url`, pooled per process."""

    def __init__(self, url: str, pool_size: int = POOL_SIZE):
        self.url = url
        self._pool_size = pool_size
        self._pool: ConnectionPool | None = None
        self._pid = 0
        self._lock = threading.Lock()
        self._on_close: list[Callable[[], None]] = []

    def on_close(self, stop: Callable[[], None]) -> None:
        """Have `close` call `stop` first (a thread that holds a connection of its own)."""
        self._on_close.append(stop)

    def _current_pool(self) -> ConnectionPool:
        if self._pool is None or self._pid != os.getpid():
            with self._lock:
                if self._pool is None or self._pid != os.getpid():
                    self._pool = ConnectionPool(
                        self.url,
                        min_size=1,
                        max_size=self._pool_size,
                        kwargs={"autocommit": True},
                        timeout=WAIT_SECONDS,
                        check=_still_open,  # a connection the server dropped is replaced, not used
                        open=False,
                    )
                    self._pool.open(wait=False)
                    self._pid = os.getpid()
        return self._pool

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """A connection in autocommit mode: each statement is its own transaction."""
        try:
            with self._current_pool().connection() as conn:
                yield conn
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise StorageUnavailable(f"the database at {redacted(self.url)} is unavailable: {exc}") from None

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection]:
        """BEGIN … COMMIT on one connection (ROLLBACK on any exception)."""
        with self.connection() as conn, conn.transaction():
            yield conn

    def close(self) -> None:
        for stop in self._on_close:
            stop()
        if self._pool is not None and self._pid == os.getpid():
            self._pool.close()
        self._pool = None
