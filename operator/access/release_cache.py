"""Recently released ciphertext, so repeated reads do not each pay the hop to the PDS.

Holds only what the PDS releases anyway (an encrypted envelope and a data key wrapped
for one recipient), never plaintext, and never decides anything: every request is
authorised from the consent index before the cache is asked. An entry lives `ttl`
seconds; writes through this operator drop the area's entries at once, so the only
staleness is a version the citizen wrote straight to the PDS, seen up to `ttl` late, and
never by a reader who names a newer one it has seen (`min_version`): each worker and
replica keeps its own cache, and a reader served by two of them must not see a version
go backwards.

Concurrent misses of one key make one fetch (the others wait for it): without that, every
request in flight when an entry expired went to the PDS at once, each on a new connection.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

FETCH_STRIPES = 64  # locks that serialise fetches of the same key (keys hash onto them)


class ReleaseCache:
    def __init__(self, ttl: float, max_entries: int = 10_000):
        self.ttl, self.max_entries = ttl, max_entries
        self._entries: OrderedDict[tuple[str, str, str], tuple[float, dict]] = OrderedDict()
        self._lock = threading.Lock()
        self._fetching = [threading.Lock() for _ in range(FETCH_STRIPES)]
        self._invalidations = 0  # bumped by invalidate(): a fetch that raced one is not kept

    def get(self, citizen: str, area: str, recipient: str, fetch: Callable[[], dict], min_version: int = 0) -> dict:
        """The cached release for (citizen, area, recipient) if it is at least `min_version`,
        else `fetch()`ed and kept."""
        key = (citizen, area, recipient)
        hit = self._fresh(key, min_version)
        if hit is not None:
            return hit
        with self._fetching[hash(key) % FETCH_STRIPES]:
            hit = self._fresh(key, min_version)  # fetched by the request this one waited for
            if hit is not None:
                return hit
            with self._lock:
                generation = self._invalidations
            value = fetch()
            if self.ttl > 0:
                with self._lock:
                    if generation == self._invalidations:
                        self._entries[key] = (time.monotonic() + self.ttl, value)
                        self._entries.move_to_end(key)
                        while len(self._entries) > self.max_entries:
                            self._entries.popitem(last=False)
            return value

    def _fresh(self, key: tuple[str, str, str], min_version: int) -> dict | None:
        with self._lock:
            hit = self._entries.get(key)
        return hit[1] if hit and hit[0] > time.monotonic() and hit[1]["version"] >= min_version else None

    def invalidate(self, citizen: str, area: str) -> None:
        with self._lock:
            self._invalidations += 1
            for key in [k for k in self._entries if k[:2] == (citizen, area)]:
                del self._entries[key]
