"""Rate limits at the operator's doors, with the `limits` library.

Two budgets: refused requests per client address (a caller whose signatures keep failing
is answered 429 before any signature work) and accepted requests per key id (one service
or citizen key cannot take the whole operator). The counters live in the storage backend
(storage.backends): in PostgreSQL they are shared by every worker of every replica, so a
budget holds for the whole operator; on the single-host SQLite default they are per worker
process in memory (W workers admit up to W times each budget).

Refusals are rare and counted one by one. Whether an address is within its refusal budget
is read from the shared counter at most every SYNC_SECONDS per process (while one request
reads it, the others keep the last verdict), and afresh after each refusal here, so a
caller whose requests keep failing is judged by the shared count on every request; one
that turns bad after a good run gets at most SYNC_SECONDS' worth of refusals past the
budget on each process. Accepted requests are every request: a process
counts them itself and adds its count to the shared counter at most every SYNC_SECONDS
(a shared counter row written by every release cost a PostgreSQL release one of its
round trips, bench/release_statements.py). A key past its budget is refused from the
sync that finds it so until SYNC_SECONDS later; between syncs each process may admit what
it sees in SYNC_SECONDS beyond the budget.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from limits import parse
from limits.storage import MemoryStorage, Storage
from limits.strategies import FixedWindowRateLimiter

from httpkit.problems import Problem


@dataclass(frozen=True)
class RateLimitConfig:
    refused_per_address: str = "60/minute"
    per_key: str = "2000/second"


SYNC_SECONDS = 0.1
MAX_KEYS = 10_000  # keys (and addresses) counted in one process before the idle ones are dropped


@dataclass
class _KeyCount:
    """One key's accepted requests not yet added to the shared counter, and until when the
    last sync found it over budget."""

    pending: int = 0
    sync_at: float = 0.0
    refused_until: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


def too_many(detail: str) -> Problem:
    return Problem(429, "too-many-requests", "Too many requests", detail)


class RateLimits:
    """The operator's two budgets over `counters` (shared in PostgreSQL, see the module doc)."""

    def __init__(self, config: RateLimitConfig = RateLimitConfig(), counters: Storage | None = None, clock: Callable[[], float] = time.monotonic):
        self._limiter = FixedWindowRateLimiter(counters or MemoryStorage())
        self._refused = parse(config.refused_per_address)
        self._per_key = parse(config.per_key)
        self._clock = clock
        self._keys: dict[str, _KeyCount] = {}
        self._addresses: dict[str, tuple[float, bool]] = {}  # address -> (read until, within budget)

    def check_address(self, address: str | None) -> None:
        """Raise 429 if `address` used up its budget of refused requests (see the module doc)."""
        address, now = address or "-", self._clock()
        known = self._addresses.get(address)
        if known is None or known[0] <= now:
            if len(self._addresses) >= MAX_KEYS:
                self._addresses = {a: k for a, k in self._addresses.items() if k[0] > now}
            if known is not None:  # requests arriving while this one reads keep the last verdict (one read per sync, not one each)
                self._addresses[address] = (now + SYNC_SECONDS, known[1])
            known = (now + SYNC_SECONDS, self._limiter.test(self._refused, "refused", address))
            self._addresses[address] = known
        if not known[1]:
            raise too_many(f"too many refused requests from this address (at most {self._refused})")

    def refused(self, address: str | None) -> None:
        """Count a refused request against `address` (its budget is read afresh next time)."""
        address = address or "-"
        self._addresses.pop(address, None)
        self._limiter.hit(self._refused, "refused", address)

    def accept(self, key_id: str) -> None:
        """Count an accepted request of `key_id`; raise 429 past its budget (as of the last
        sync with the shared counter, see the module doc)."""
        now = self._clock()
        count = self._keys.get(key_id) or self._counting(key_id, now)
        with count.lock:
            if now < count.refused_until:
                raise self._over_budget(key_id)
            count.pending += 1
            if now < count.sync_at:
                return
            pending, count.pending, count.sync_at = count.pending, 0, now + SYNC_SECONDS
        if not self._limiter.hit(self._per_key, "key", key_id, cost=pending):
            count.refused_until = now + SYNC_SECONDS
            raise self._over_budget(key_id)

    def _over_budget(self, key_id: str) -> Problem:
        return too_many(f"too many requests from {key_id} (at most {self._per_key})")

    def _counting(self, key_id: str, now: float) -> _KeyCount:
        """A new key's count; past MAX_KEYS, keys idle since their last sync are dropped first
        (what they had pending belongs to a window that has passed or nearly so)."""
        if len(self._keys) >= MAX_KEYS:
            self._keys = {k: c for k, c in self._keys.items() if c.sync_at > now - SYNC_SECONDS}
        return self._keys.setdefault(key_id, _KeyCount())
