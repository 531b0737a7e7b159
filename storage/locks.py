"""Mutual exclusion across the threads and processes of one host (e.g. gunicorn workers);
storage/postgres/locks.py does the same across replicas."""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

from filelock import FileLock, Timeout


class InterProcessLock:
    """A re-entrant thread lock plus an OS file lock: one holder per data directory."""

    def __init__(self, path: str | Path):
        self._thread = threading.RLock()
        self._file = FileLock(str(path), thread_local=False)

    def __enter__(self) -> InterProcessLock:
        self._thread.acquire()
        try:
            self._file.acquire()
        except BaseException:
            self._thread.release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.release()
        self._thread.release()


class FileLeadership:
    """A file lock held for the life of the process (one host: it cannot be lost)."""

    def __init__(self, lock: FileLock):
        self._lock = lock

    def alive(self) -> bool:
        return True

    def release(self) -> None:
        self._lock.release()


def try_hold(path: str | Path) -> FileLeadership | None:
    """Take `path`'s lock for the life of the process if nobody holds it; None otherwise."""
    lock = FileLock(str(path), thread_local=False)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return None
    return FileLeadership(lock)


class WriterLock:
    """Serialises one SQLite database's writers across threads and processes, for hot paths.

    A blocking `flock` wakes the next waiter as soon as the holder releases, where SQLite's
    own busy handler (and FileLock) would sleep and poll: under two busy worker processes
    that polling, not the work, set the pace.
    """

    def __init__(self, path: str | Path):
        self._thread = threading.Lock()
        self._fd = os.open(str(path), os.O_RDWR | os.O_CREAT, 0o600)

    def __enter__(self) -> WriterLock:
        self._thread.acquire()
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._thread.release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._thread.release()
