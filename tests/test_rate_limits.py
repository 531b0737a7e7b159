"""The per-key budget of accepted requests: counted per process, added to the shared counter
at most every SYNC_SECONDS, refused from the sync that finds the key over budget."""

from __future__ import annotations

import pytest
from limits.storage import MemoryStorage

from consent_operator.access.rate_limits import SYNC_SECONDS, RateLimitConfig, RateLimits
from httpkit.problems import Problem


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _shared(counters: MemoryStorage) -> int:
    return counters.get("LIMITER/key/cv/5/1/minute")


def _refused(limits: RateLimits) -> bool:
    try:
        limits.accept("cv")
    except Problem as exc:
        assert exc.status == 429 and exc.slug == "too-many-requests"
        return True
    return False


def test_between_syncs_a_process_counts_alone_and_the_next_sync_refuses_past_the_budget():
    counters, clock = MemoryStorage(), Clock()
    limits = RateLimits(RateLimitConfig(per_key="5/minute"), counters, clock)
    assert not any(_refused(limits) for _ in range(8))  # the first synced, seven counted here
    assert _shared(counters) == 1
    clock.now += SYNC_SECONDS
    assert _refused(limits) and _shared(counters) == 9  # the sync adds all of them: over budget
    assert _refused(limits) and _shared(counters) == 9  # refused here until the next sync
    clock.now += SYNC_SECONDS
    assert _refused(limits) and _shared(counters) == 10


def test_the_budget_holds_for_every_process_sharing_the_counter():
    counters, clock = MemoryStorage(), Clock()
    a, b = (RateLimits(RateLimitConfig(per_key="5/minute"), counters, clock) for _ in range(2))
    outcomes = []
    for i in range(8):
        clock.now += SYNC_SECONDS  # every accept syncs
        outcomes.append(_refused(a if i % 2 else b))
    assert outcomes == [False] * 5 + [True] * 3


def test_keys_have_their_own_budgets():
    counters, clock = MemoryStorage(), Clock()
    limits = RateLimits(RateLimitConfig(per_key="1/minute"), counters, clock)
    limits.accept("cv")
    clock.now += SYNC_SECONDS
    with pytest.raises(Problem):
        limits.accept("cv")
    limits.accept("employer")


def test_an_address_refused_again_and_again_is_judged_by_the_shared_count_every_time():
    counters, clock = MemoryStorage(), Clock()
    a, b = (RateLimits(RateLimitConfig(refused_per_address="3/minute"), counters, clock) for _ in range(2))
    outcomes = []
    for i in range(6):  # no clock movement: only the refusals themselves make a process read again
        limits = a if i % 2 else b
        try:
            limits.check_address("10.0.0.9")
        except Problem as exc:
            assert exc.status == 429
            outcomes.append("429")
            continue
        limits.refused("10.0.0.9")
        outcomes.append("401")
    assert outcomes == ["401"] * 3 + ["429"] * 3


def test_an_address_within_budget_is_read_at_most_once_per_sync():
    counters, clock = MemoryStorage(), Clock()
    limits = RateLimits(RateLimitConfig(refused_per_address="1/minute"), counters, clock)
    limits.check_address("10.0.0.9")
    RateLimits(RateLimitConfig(refused_per_address="1/minute"), counters, clock).refused("10.0.0.9")  # refused by another process
    limits.check_address("10.0.0.9")  # within SYNC_SECONDS of its read: not looked at again
    clock.now += SYNC_SECONDS
    with pytest.raises(Problem):
        limits.check_address("10.0.0.9")


def test_requests_arriving_while_an_address_is_read_keep_the_last_verdict():
    """Under load many requests find the sync due at once: one reads, the rest do not wait
    on reads of their own."""
    clock, reads = Clock(), []

    class Counters(MemoryStorage):
        def get(self, key):
            reads.append(key)
            if len(reads) == 2:
                limits.check_address("10.0.0.9")  # a request arriving while this read is in flight
            return super().get(key)

    limits = RateLimits(RateLimitConfig(refused_per_address="1/minute"), Counters(), clock)
    limits.check_address("10.0.0.9")
    clock.now += SYNC_SECONDS
    limits.check_address("10.0.0.9")
    assert len(reads) == 2
