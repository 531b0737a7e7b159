"""Leader: the background loops' one question, "is this process the one to work?", asked
of the backend's lock at most every recheck interval."""

from __future__ import annotations

from consent_operator import leadership
from consent_operator.leadership import Leader


class Held:
    def __init__(self) -> None:
        self.up = True

    def alive(self) -> bool:
        return self.up

    def release(self) -> None:
        self.up = False


class Backend:
    """A backend whose lock is free when `free` is set; counts how often it was sought."""

    def __init__(self) -> None:
        self.free, self.sought, self.given = False, 0, []

    def try_hold(self, name: str):
        self.sought += 1
        if not self.free:
            return None
        self.given.append(Held())
        return self.given[-1]


def test_the_lock_is_sought_once_per_interval_kept_while_alive_and_given_up_when_lost(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(leadership.time, "monotonic", lambda: clock[0])
    backend = Backend()
    leader = Leader(backend, "notifier", recheck_seconds=1.0)
    assert not leader.held() and backend.sought == 1
    backend.free = True
    assert not leader.held() and backend.sought == 1  # not sought again before the interval
    clock[0] = 101.0
    assert leader.held() and backend.sought == 2
    clock[0] = 102.0
    assert leader.held() and backend.sought == 2  # held: checked, not sought again
    backend.given[0].up = False  # the database dropped the session
    backend.free = False
    assert leader.held()  # until the next check
    clock[0] = 103.0
    assert not leader.held() and backend.sought == 3
