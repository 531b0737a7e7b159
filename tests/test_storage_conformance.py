"""The storage conformance suite: every backend (SQLite, and PostgreSQL on a real server)
keeps the same promises for each store the services use."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from devchain.nodes import wait_until
from storage.backends import PostgresBackend, SqliteBackend

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path):
    if request.param == "sqlite":
        yield SqliteBackend(tmp_path / "db")
        return
    b = PostgresBackend(request.getfixturevalue("pg_url"))
    yield b
    b.db.close()


@pytest.fixture
def shared_backend(pg_url):
    """A backend whose state replicas share (PostgreSQL)."""
    b = PostgresBackend(pg_url)
    yield b
    b.db.close()


# ---- the replay store ----------------------------------------------------------------
def test_a_nonce_is_accepted_once_per_key(backend):
    store, later = backend.replay_store(), time.time() + 300
    assert store.use("service:a", "n" * 16, later)
    assert not store.use("service:a", "n" * 16, later)
    assert store.use("service:b", "n" * 16, later)  # another key's nonce space


def test_a_nonce_used_through_one_store_is_refused_by_another_of_the_same_backend(backend):
    """Two workers (or replicas) open their own store on one backend."""
    first, second = backend.replay_store(), backend.replay_store()
    assert first.use("service:a", "m" * 16, time.time() + 300)
    assert not second.use("service:a", "m" * 16, time.time() + 300)


def test_concurrent_uses_of_one_nonce_accept_exactly_one(backend):
    store = backend.replay_store()
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: store.use("service:a", "race" * 4, time.time() + 300), range(32)))
    assert results.count(True) == 1


def test_expired_nonces_are_dropped_every_thousand_uses_and_live_ones_never(backend):
    store, later = backend.replay_store(), time.time() + 300
    assert store.use("k", "expired-nonce", time.time() - 1)
    assert store.use("k", "live-nonce", later)
    for i in range(996):
        assert store.use("k", f"filler-{i}", later)
    assert not store.use("k", "expired-nonce", later)  # the 999th use: nothing dropped yet, still a replay
    assert store.use("k", "filler-1000", later)  # the 1000th use drops what has expired
    assert store.use("k", "expired-nonce", later)  # gone (its request is stale anyway: refused before this check)
    assert not store.use("k", "live-nonce", later)  # a live nonce is still a replay


def test_forget_erases_every_nonce_of_one_key_and_only_those(backend):
    store, later = backend.replay_store(), time.time() + 300
    for i in range(3):
        store.use("citizen:x", f"nonce-{i:012d}", later)
    store.use("citizen:y", "nonce-000000000000", later)
    assert store.forget("citizen:x") == 3
    assert store.use("citizen:x", "nonce-000000000000", later)  # nothing of x is left
    assert not store.use("citizen:y", "nonce-000000000000", later)


# ---- rate-limit counters --------------------------------------------------------------
def test_counters_count_per_key_within_a_window(backend):
    counters = backend.rate_counters()
    assert [counters.incr("k", 60) for _ in range(3)] == [1, 2, 3]
    assert counters.get("k") == 3 and counters.get("other") == 0
    assert counters.incr("k", 60, amount=5) == 8
    assert counters.get_expiry("k") > time.time()
    counters.clear("k")
    assert counters.get("k") == 0


def test_a_counter_starts_again_when_its_window_has_passed(backend):
    counters = backend.rate_counters()
    counters.incr("w", 1)
    counters.incr("w", 1)
    wait_until(lambda: counters.get("w") == 0, "the window to pass", 10)
    assert counters.incr("w", 1) == 1


def test_replicas_share_their_counters(shared_backend):
    first, second = shared_backend.rate_counters(), shared_backend.rate_counters()
    first.incr("shared", 60)
    assert second.incr("shared", 60) == 2
    assert first.get("shared") == 2


def test_concurrent_hits_are_all_counted(shared_backend):
    counters = shared_backend.rate_counters()
    threads = [threading.Thread(target=lambda: [counters.incr("busy", 60) for _ in range(25)]) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counters.get("busy") == 200
