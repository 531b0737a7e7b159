"""The operator's cache of released ciphertext: reused for its lifetime, dropped on writes."""

import threading

from consent_operator.access.release_cache import ReleaseCache


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_a_release_is_reused_until_it_expires_then_fetched_again(monkeypatch):
    clock = Clock()
    monkeypatch.setattr("consent_operator.access.release_cache.time.monotonic", clock)
    cache, fetched = ReleaseCache(ttl=1.0), []

    def fetch():
        fetched.append(1)
        return {"version": len(fetched)}

    assert cache.get("c", "work", "service:a", fetch) == {"version": 1}
    assert cache.get("c", "work", "service:a", fetch) == {"version": 1}
    assert cache.get("c", "work", "service:b", fetch) == {"version": 2}  # per recipient
    clock.now += 1.5
    assert cache.get("c", "work", "service:a", fetch) == {"version": 3}


def test_invalidate_drops_every_recipient_of_the_area_only():
    cache = ReleaseCache(ttl=60)
    for recipient in ("service:a", "service:b"):
        cache.get("c", "work", recipient, lambda: {"version": 1})
    cache.get("c", "skills", "service:a", lambda: {"version": 1})
    cache.invalidate("c", "work")
    assert cache.get("c", "work", "service:a", lambda: {"version": 2}) == {"version": 2}
    assert cache.get("c", "skills", "service:a", lambda: {"version": 9}) == {"version": 1}


def test_zero_ttl_never_keeps_and_the_size_is_bounded():
    assert ReleaseCache(ttl=0).get("c", "a", "r", lambda: {"v": 1}) == {"v": 1}
    cache = ReleaseCache(ttl=0)
    assert cache.get("c", "a", "r", lambda: {"v": 2}) == {"v": 2}
    small = ReleaseCache(ttl=60, max_entries=2)
    for area in ("a", "b", "c"):
        small.get("c", area, "r", lambda: {"v": 1})
    assert small.get("c", "a", "r", lambda: {"v": 2}) == {"v": 2}  # the oldest was evicted


def test_concurrent_misses_of_one_key_make_one_fetch():
    cache, started, release, fetched = ReleaseCache(ttl=60), threading.Event(), threading.Event(), []

    def slow_fetch():
        fetched.append(1)
        started.set()
        release.wait(5)
        return {"version": 1}

    first = threading.Thread(target=cache.get, args=("c", "work", "service:a", slow_fetch))
    first.start()
    started.wait(5)
    waiters = [threading.Thread(target=cache.get, args=("c", "work", "service:a", slow_fetch)) for _ in range(5)]
    for t in waiters:
        t.start()
    release.set()
    for t in [first, *waiters]:
        t.join(5)
    assert fetched == [1]


def test_a_fetch_that_raced_an_invalidation_is_not_kept():
    cache = ReleaseCache(ttl=60)

    def fetch_while_a_write_lands():
        cache.invalidate("c", "work")  # a write through the operator, during the fetch
        return {"version": 1}

    assert cache.get("c", "work", "service:a", fetch_while_a_write_lands) == {"version": 1}
    assert cache.get("c", "work", "service:a", lambda: {"version": 2}) == {"version": 2}


def test_a_cached_release_older_than_the_reader_has_seen_is_fetched_again():
    """Each worker and replica caches on its own: a reader who saw version 8 from one of
    them must not get a cached version 7 from another."""
    cache, stored = ReleaseCache(ttl=60.0), {"version": 7}
    assert cache.get("c", "work", "service:a", lambda: dict(stored)) == {"version": 7}
    stored["version"] = 8  # written straight to the PDS; this cache still holds 7
    assert cache.get("c", "work", "service:a", lambda: dict(stored)) == {"version": 7}  # no newer one named: 7 may be served
    assert cache.get("c", "work", "service:a", lambda: dict(stored), min_version=8) == {"version": 8}
    assert cache.get("c", "work", "service:a", lambda: {"version": -1}, min_version=8) == {"version": 8}  # and kept
