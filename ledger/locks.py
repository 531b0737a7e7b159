"""Mutual exclusion across the threads and processes of one operator (e.g. gunicorn workers)."""

from __future__ import annotations

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

    def __exit__(self, *exc) -> None:
        self._file.release()
        self._thread.release()


def try_hold(path: str | Path) -> FileLock | None:
    """Take `path`'s lock for the life of the process if nobody holds it; None otherwise."""
    lock = FileLock(str(path), thread_local=False)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return None
    return lock
