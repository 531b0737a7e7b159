"""Mirror ConsentRegistry grants and revocations into the audit log.

Every on-chain grant or revocation, whether relayed by the operator or sent
straight to the chain by a citizen, becomes exactly one log entry. The block
cursor commits in the same transaction as the entries, so a crash never skips
or duplicates an event.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from . import events
from .logstore import LogStore
from .registry import ChainEvent, Registry

CURSOR_KEY = "follower.last_block"
CHUNK = 2000


def consent_key(consent_id: str) -> str:
    """The log lookup key of every entry about one consent."""
    return "consent:" + consent_id.lower()


def revocation_key(consent_id: str) -> str:
    """The log lookup key of a consent's revocation entry."""
    return "revoked:" + consent_id.lower()


def entry_for(event: ChainEvent, block_time: int) -> dict | None:
    time = datetime.fromtimestamp(block_time, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    common = {"block": event.block, "tx": event.tx, "log_index": event.log_index, "time": time}
    a = event.args
    if event.name == "ConsentGranted":
        return {
            "type": events.CONSENT_GRANTED,
            "consent_id": "0x" + a["consentId"].hex(),
            "commitment": "0x" + a["commitment"].hex(),
            "expires_at": a["expiresAt"],
            "signer": a["signer"],
            **common,
        }
    if event.name == "ConsentRevoked":
        return {
            "type": events.CONSENT_REVOKED,
            "consent_id": "0x" + a["consentId"].hex(),
            "signer": a["signer"],
            "relayer": a["relayer"],
            **common,
        }
    return None


class ChainFollower:
    def __init__(self, registry: Registry, log: LogStore, confirmations: int = 0, lock=None):
        """`lock` must exclude every other follower of the same log (see ledger.locks)."""
        self.registry = registry
        self.log = log
        self.confirmations = confirmations
        self._lock = lock or threading.Lock()

    @property
    def last_block(self) -> int:
        return int(self.log.get_meta(CURSOR_KEY, str(self.registry.from_block - 1)))

    def sync(self, up_to: int | None = None) -> int:
        """Log every registry event up to `up_to` (default: head - confirmations); returns entries added."""
        with self._lock:
            head = self.registry.client.block_number() - self.confirmations
            target = head if up_to is None else min(up_to, head)
            added = 0
            start = self.last_block + 1
            while start <= target:
                end = min(start + CHUNK - 1, target)
                found = self.registry.events(start, end)
                times: dict[int, int] = {}
                entries, keys = [], []
                for ev in found:
                    if ev.block not in times:
                        times[ev.block] = self.registry.client.w3.eth.get_block(ev.block)["timestamp"]
                    entry = entry_for(ev, times[ev.block])
                    if entry:
                        entries.append(events.encode(entry))
                        keys.append([consent_key(entry["consent_id"])])
                        if entry["type"] == events.CONSENT_REVOKED:
                            keys[-1].append(revocation_key(entry["consent_id"]))
                self.log.append(entries, {CURSOR_KEY: str(end)}, keys)
                added += len(entries)
                start = end + 1
            return added
