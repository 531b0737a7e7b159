"""Which process does the work only one may do: the holder of one of the backend's locks.

Every worker of every replica runs the same background loops (the chain follower and
anchorer, the notifier); each loop asks `Leader.held()` before working. The lock is sought
again, and a held one checked, every `recheck_seconds` (not on every tick), so a dead holder
is replaced within about that long, and a holder whose database session was dropped stops.
"""

from __future__ import annotations

import time

from storage.backends import Backend, Leadership


class Leader:
    def __init__(self, backend: Backend, name: str, recheck_seconds: float):
        self.backend, self.name, self.recheck_seconds = backend, name, recheck_seconds
        self._held: Leadership | None = None
        self._next_check = 0.0

    def held(self) -> bool:
        """Whether this process holds the lock now (seeking it, or checking it, when due)."""
        now = time.monotonic()
        if now >= self._next_check:
            self._next_check = now + self.recheck_seconds
            if self._held is not None and not self._held.alive():
                self._held = None  # the database dropped our session: another replica may lead now
            self._held = self._held or self.backend.try_hold(self.name)
        return self._held is not None
