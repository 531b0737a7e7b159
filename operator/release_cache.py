"""Recently released ciphertext, so repeated reads do not each pay the hop to the PDS.

Holds only what the PDS releases anyway (an encrypted envelope and a data key wrapped
for one recipient), never plaintext, and never decides anything: every request is
authorised from the consent index before the cache is asked. An entry lives `ttl`
seconds; writes through this operator drop the area's entries at once, so the only
staleness is a version the citizen wrote straight to the PDS, seen up to `ttl` late.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class ReleaseCache:
    def __init__(self, ttl: float, max_entries: int = 10_000):
        self.ttl, self.max_entries = ttl, max_entries
        self._entries: OrderedDict[tuple[str, str, str], tuple[float, dict]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, citizen: str, area: str, recipient: str, fetch: Callable[[], dict]) -> dict:
        """The cached release for (citizen, area, recipient), or `fetch()`ed and kept."""
        key, now = (citizen, area, recipient), time.monotonic()
        with self._lock:
            hit = self._entries.get(key)
        if hit and hit[0] > now:
            return hit[1]
        value = fetch()
        if self.ttl > 0:
            with self._lock:
                self._entries[key] = (now + self.ttl, value)
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
        return value

    def invalidate(self, citizen: str, area: str) -> None:
        with self._lock:
            for key in [k for k in self._entries if k[:2] == (citizen, area)]:
                del self._entries[key]
