"""Services' request-signing keys, read from the directory at most once a `ttl` per service
and process.

Every service request needs its key before the signature can be checked; asking the
directory each time cost a PostgreSQL release one of its eight statements
(bench/release_statements.py). A key a service replaces (re-registering, signed with the
old key) stops working at once on the process that took the new one and within `ttl`
everywhere else: the bound on how long a retired key lives on. An id the directory does not
know is asked again every time, so a service is usable the moment it registers.
When a kept key expires, one request reads it again and those arriving meanwhile wait for
that read instead of each making their own (measured: a PostgreSQL worker with 16 requests
in flight read a service's key 9 times a second, not once).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

KEY_SECONDS = 1.0
MAX_KEPT = 10_000  # services whose key one process keeps; past it, it starts again
READ_STRIPES = 64  # locks that let one read of a service's key at a time (by id hash)


class ServiceKeys:
    """Signing keys by service id, from `read(service_id)` (None: no such service)."""

    def __init__(self, read: Callable[[str], bytes | None], ttl: float = KEY_SECONDS, clock: Callable[[], float] = time.monotonic):
        self._read, self.ttl, self._clock = read, ttl, clock
        self._kept: dict[str, tuple[float, bytes]] = {}
        self._lock = threading.Lock()
        self._reading = [threading.Lock() for _ in range(READ_STRIPES)]

    def sign_key(self, service_id: str) -> bytes | None:
        kept = self._kept_key(service_id)
        if kept is not None:
            return kept
        with self._reading[hash(service_id) % READ_STRIPES]:
            kept = self._kept_key(service_id)  # read by the request this one waited for
            if kept is not None:
                return kept
            now = self._clock()
            key = self._read(service_id)
            if key is not None:
                with self._lock:
                    if len(self._kept) >= MAX_KEPT:
                        self._kept = {}
                    self._kept[service_id] = (now + self.ttl, key)
            return key

    def _kept_key(self, service_id: str) -> bytes | None:
        with self._lock:
            kept = self._kept.get(service_id)
        return kept[1] if kept is not None and kept[0] > self._clock() else None

    def forget(self, service_id: str) -> None:
        """Drop a kept key (its service registered another through this process)."""
        with self._lock:
            self._kept.pop(service_id, None)
