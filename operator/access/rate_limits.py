"""Rate limits at the operator's doors, with the `limits` library.

Two budgets: refused requests per client address (a caller whose signatures keep failing
is answered 429 before any signature work) and accepted requests per key id (one service
or citizen key cannot take the whole operator). The counters live in the storage backend
(storage.backends): in PostgreSQL they are shared by every worker of every replica, so a
budget holds for the whole operator; on the single-host SQLite default they are per worker
process in memory (W workers admit up to W times each budget).
"""

from __future__ import annotations

from dataclasses import dataclass

from limits import parse
from limits.storage import MemoryStorage, Storage
from limits.strategies import FixedWindowRateLimiter

from httpkit.problems import Problem


@dataclass(frozen=True)
class RateLimitConfig:
    refused_per_address: str = "60/minute"
    per_key: str = "2000/second"


def too_many(detail: str) -> Problem:
    return Problem(429, "too-many-requests", "Too many requests", detail)


class RateLimits:
    def __init__(self, config: RateLimitConfig = RateLimitConfig(), counters: Storage | None = None):
        self._limiter = FixedWindowRateLimiter(counters or MemoryStorage())
        self._refused = parse(config.refused_per_address)
        self._per_key = parse(config.per_key)

    def check_address(self, address: str | None) -> None:
        """Raise 429 if `address` used up its budget of refused requests."""
        if not self._limiter.test(self._refused, "refused", address or "-"):
            raise too_many(f"too many refused requests from this address (at most {self._refused})")

    def refused(self, address: str | None) -> None:
        """Count a refused request against `address`."""
        self._limiter.hit(self._refused, "refused", address or "-")

    def accept(self, key_id: str) -> None:
        """Count an accepted request of `key_id`; raise 429 past its budget."""
        if not self._limiter.hit(self._per_key, "key", key_id):
            raise too_many(f"too many requests from {key_id} (at most {self._per_key})")
