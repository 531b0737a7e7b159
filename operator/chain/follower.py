"""Mirror ConsentRegistry grants and revocations into the audit log.

Every on-chain grant or revocation, whether relayed by the operator or sent
straight to the chain by a citizen, becomes exactly one log entry. The block
cursor commits in the same transaction as the entries, so a crash never skips
or duplicates an event.
"""

from __future__ import annotations

import threading

from ledger import events
from ledger.chain_entries import entry_for
from ledger.lookup_keys import consent_key, revocation_key
from ledger.registry import Registry
from storage.log import LogStore

CURSOR_KEY = "follower.last_block"
HEAD_TIME_KEY = "follower.head_time"  # timestamp of the last followed block: the operator's chain time
NODE_HEAD_KEY = "follower.node_head"  # the newest block the node was seen to have (see note_head)
CHUNK = 2000


class ChainFollower:
    def __init__(self, registry: Registry, log: LogStore, confirmations: int = 0, lock=None):
        """`lock` must exclude every other follower of the same log (see storage.locks)."""
        self.registry = registry
        self.log = log
        self.confirmations = confirmations
        self.lock = lock or threading.Lock()

    @property
    def last_block(self) -> int:
        return int(self.log.get_meta(CURSOR_KEY, str(self.registry.from_block - 1)))

    def sync(self, up_to: int | None = None) -> int:
        """Log every registry event up to `up_to` (default: head - confirmations); returns entries added."""
        with self.lock:
            w3 = self.registry.client.w3
            head = w3.eth.get_block(max(0, self.registry.client.block_number() - self.confirmations))
            target = head["number"] if up_to is None else min(up_to, head["number"])
            added = 0
            start = self.last_block + 1
            while start <= target:
                end = min(start + CHUNK - 1, target)
                found = self.registry.events(start, end)
                times: dict[int, int] = {}
                entries, keys = [], []
                for ev in found:
                    if ev.block not in times:
                        times[ev.block] = w3.eth.get_block(ev.block)["timestamp"]
                    entry = entry_for(ev, times[ev.block])
                    if entry:
                        entries.append(events.encode(entry))
                        keys.append([consent_key(entry["consent_id"])])
                        if entry["type"] == events.CONSENT_REVOKED:
                            keys[-1].append(revocation_key(entry["consent_id"]))
                meta = {CURSOR_KEY: str(end)}
                if end == head["number"]:
                    meta[HEAD_TIME_KEY] = str(head["timestamp"])
                self.log.append(entries, meta, keys)
                added += len(entries)
                start = end + 1
            if target == head["number"] and self.log.get_meta(HEAD_TIME_KEY) != str(head["timestamp"]):
                self.log.append([], {HEAD_TIME_KEY: str(head["timestamp"])})
            return added

    def note_head(self) -> bool:
        """Record that the node has a (confirmed) block past the followed one, if it does.
        One cheap eth_blockNumber: a watcher calls this many times a second, so that from
        the moment it returns True every decision knows it must follow that block before it
        may release anything (see position)."""
        head = self.registry.client.block_number() - self.confirmations
        last, _, _ = self.position()
        if head <= last:
            return False
        if head > int(self.log.get_meta(NODE_HEAD_KEY, "-1")):
            self.log.append([], {NODE_HEAD_KEY: str(head)})
        return True

    def chain_time(self) -> int:
        """The timestamp of the newest block followed (0 before the first sync)."""
        return int(self.log.get_meta(HEAD_TIME_KEY, "0"))

    def position(self) -> tuple[int, int, bool]:
        """(last_block, chain_time, lagging) read together, so they come from the same sync;
        `lagging` when the node was seen to have a block that is not followed yet."""
        meta = self.log.get_metas(CURSOR_KEY, HEAD_TIME_KEY, NODE_HEAD_KEY)
        last = int(meta.get(CURSOR_KEY, self.registry.from_block - 1))
        return last, int(meta.get(HEAD_TIME_KEY, 0)), int(meta.get(NODE_HEAD_KEY, -1)) > last
