"""ServiceKeys keeps a service's signing key for `ttl` per process: a replaced key lives on
at most that long on other processes, an unknown id is asked again every time."""

from __future__ import annotations

import threading
import time

from consent_operator.access.service_keys import ServiceKeys


class Directory:
    def __init__(self):
        self.keys: dict[str, bytes] = {}
        self.reads = 0

    def read(self, service_id: str) -> bytes | None:
        self.reads += 1
        return self.keys.get(service_id)


def test_a_key_is_kept_for_its_ttl_and_then_read_again():
    directory, now = Directory(), [100.0]
    keys = ServiceKeys(directory.read, ttl=1.0, clock=lambda: now[0])
    directory.keys["cv"] = b"old"
    assert keys.sign_key("cv") == b"old" and keys.sign_key("cv") == b"old" and directory.reads == 1
    directory.keys["cv"] = b"new"  # replaced through another replica
    now[0] += 0.999
    assert keys.sign_key("cv") == b"old"
    now[0] += 0.001
    assert keys.sign_key("cv") == b"new" and directory.reads == 2


def test_an_unknown_service_is_never_kept():
    directory = Directory()
    keys = ServiceKeys(directory.read, ttl=60)
    assert keys.sign_key("new") is None
    directory.keys["new"] = b"k"
    assert keys.sign_key("new") == b"k"  # registered a moment ago: usable at once


def test_forget_retires_a_kept_key_at_once():
    directory = Directory()
    keys = ServiceKeys(directory.read, ttl=60)
    directory.keys["cv"] = b"old"
    assert keys.sign_key("cv") == b"old"
    directory.keys["cv"] = b"new"
    keys.forget("cv")
    assert keys.sign_key("cv") == b"new"


def test_requests_that_find_no_fresh_key_together_read_it_once():
    directory, started, release = Directory(), threading.Event(), threading.Event()
    directory.keys["cv"] = b"k"

    def slow_read(service_id: str) -> bytes | None:
        started.set()
        release.wait(5)
        return directory.read(service_id)

    keys = ServiceKeys(slow_read, ttl=60)
    first = threading.Thread(target=keys.sign_key, args=("cv",))
    first.start()
    started.wait(5)  # the first request is reading; these arrive meanwhile
    others = [threading.Thread(target=lambda: found.append(keys.sign_key("cv"))) for _ in range(8)]
    found: list[bytes | None] = []
    for t in others:
        t.start()
    time.sleep(0.2)  # time for the others to arrive (a read each, without the single read)
    release.set()
    for t in [first, *others]:
        t.join(5)
    assert found == [b"k"] * 8 and directory.reads == 1
