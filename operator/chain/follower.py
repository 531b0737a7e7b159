"""Mirror ConsentRegistry grants and revocations into the audit log, through reorgs.

Every on-chain grant or revocation, whether relayed by the operator or sent straight to the
chain by a citizen, becomes exactly one log entry once its block is `confirmations` deep.
The block cursor commits in the same transaction as the entries, so a crash never skips or
duplicates an event.

Reorgs: the follower remembers the hash of each block it followed up to (the last
REMEMBERED of them). Before following further it asks the node for the hash at the newest
remembered height; if it changed, a reorg reached below the confirmation depth. It walks
back to the newest remembered block the node still has (the common ancestor) and, in one
transaction, appends a `chain.reorged` entry that withdraws every entry mirroring an event
of an orphaned block, moves the cursor back to the ancestor and forgets the orphaned hashes;
then it follows the winning branch as usual (an event it carries again is logged again).
The log stays append-only: the withdrawal is itself an entry, and an auditor checks it.
A reorg deeper than every remembered block stops the follower (ChainReorgTooDeep) and with
it every release, rather than guess.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ledger import events
from ledger.chain import ChainError, is_development_chain
from ledger.chain_entries import entry_for
from ledger.lookup_keys import chain_block_key, consent_key, grant_key, revocation_key
from ledger.record import format_time
from ledger.registry import Registry
from storage.log import LogStore

CURSOR_KEY = "follower.last_block"
HEAD_TIME_KEY = "follower.head_time"  # timestamp of the last followed block: the operator's chain time
NODE_HEAD_KEY = "follower.node_head"  # the newest block the node was seen to have (see note_head)
BLOCKS_KEY = "follower.blocks"  # [[number, hash], ...] of the blocks followed up to, oldest first
WITHDRAWALS_KEY = "follower.withdrawals"  # [[ancestor, log size then], ...]: what each reorg withdrew (see _withdrawn)
STATE_KEY = "follower.state"  # a fresh random token whenever grants or revocations change (see Position.state)
CHUNK = 2000
REMEMBERED = 64  # followed blocks whose hashes are kept: the deepest reorg the follower can undo

REAL_NODE_CONFIRMATIONS = 2


@dataclass(frozen=True)
class Position:
    """Where the follower stands, read in one query: the last block followed, its time (the
    operator's chain time), whether the node was seen to have a newer block (`lagging`), and
    `state`, a token written in the same transaction as every entry that grants, revokes or
    withdraws a consent. Tokens are random and never reused, so two reads with the same
    token saw the same grants and revocations: what the log says of a consent can be kept
    per process for as long as the token holds (release.py). `meta` holds the values it was
    read from ("" for unset): an append that expects them (LogStore.append) is written only
    while the follower still stands there."""

    block: int
    chain_time: int
    lagging: bool
    state: str
    meta: dict[str, str] = field(default_factory=dict, compare=False)


def _new_state() -> str:
    return secrets.token_hex(8)


class ChainReorgTooDeep(ChainError):
    """The chain reorganised below every block the follower remembers: nothing is followed
    (and so nothing released) until an operator looks."""


def default_confirmations(chain_id: int) -> int:
    """0 on a development chain (blocks are final when mined), else REAL_NODE_CONFIRMATIONS."""
    return 0 if is_development_chain(chain_id) else REAL_NODE_CONFIRMATIONS


class ChainFollower:
    def __init__(self, registry: Registry, log: LogStore, confirmations: int = 0, lock: Any = None):
        """`lock` must exclude every other follower of the same log (see storage.locks)."""
        self.registry = registry
        self.log = log
        self.confirmations = confirmations
        self.lock = lock or threading.Lock()
        self._last_read: Position | None = None

    @property
    def last_block(self) -> int:
        return int(self.log.get_meta(CURSOR_KEY, str(self.registry.from_block - 1)))

    def sync(self, up_to: int | None = None) -> int:
        """Log every registry event up to `up_to` (default: head - confirmations), after
        undoing a reorg if one happened; returns the entries added."""
        with self.lock:
            self._undo_reorg()
            w3 = self.registry.client.w3
            head = w3.eth.get_block(max(0, self.registry.client.block_number() - self.confirmations))
            target = head["number"] if up_to is None else min(up_to, head["number"])
            added = 0
            start = self.last_block + 1
            while start <= target:
                end = min(start + CHUNK - 1, target)
                added += self._follow(start, end, head if end == head["number"] else w3.eth.get_block(end))
                start = end + 1
            return added

    def _follow(self, start: int, end: int, end_block: Any) -> int:
        """Log the events of blocks [start, end], read while `end_block` was on the chain
        (a reorg in between would mix two branches: then nothing is logged, and the next
        sync finds the reorg)."""
        w3 = self.registry.client.w3
        found = self.registry.events(start, end)
        if w3.eth.get_block(end)["hash"] != end_block["hash"]:
            return 0
        times: dict[int, int] = {}
        entries: list[bytes] = []
        keys: list[list[str]] = []
        for ev in found:
            if ev.block not in times:
                times[ev.block] = w3.eth.get_block(ev.block)["timestamp"]
            entry = entry_for(ev, times[ev.block])
            if entry:
                cid = entry["consent_id"]
                entries.append(events.encode(entry))
                state_key = grant_key(cid) if entry["type"] == events.CONSENT_GRANTED else revocation_key(cid)
                keys.append([consent_key(cid), state_key, chain_block_key(ev.block)])
        remembered = [*self._remembered(), [end, "0x" + bytes(end_block["hash"]).hex()]][-REMEMBERED:]
        meta = {CURSOR_KEY: str(end), HEAD_TIME_KEY: str(end_block["timestamp"]), BLOCKS_KEY: json.dumps(remembered)}
        if entries:
            meta[STATE_KEY] = _new_state()
        self.log.append(entries, meta, keys, publish=bool(entries))
        return len(entries)

    def _remembered(self) -> list[list[Any]]:
        return json.loads(self.log.get_meta(BLOCKS_KEY, "[]") or "[]")

    def _undo_reorg(self) -> None:
        """If a followed block left the chain, withdraw what its events logged (see module doc)."""
        remembered = self._remembered()
        w3 = self.registry.client.w3
        kept = list(remembered)
        while kept and "0x" + bytes(w3.eth.get_block(kept[-1][0])["hash"]).hex() != kept[-1][1]:
            kept.pop()
        if len(kept) == len(remembered):
            return
        if not kept:
            raise ChainReorgTooDeep(f"the chain reorganised below block {remembered[0][0]}, the oldest the follower remembers")
        ancestor, last = kept[-1][0], int(self.log.get_meta(CURSOR_KEY, "-1") or -1)
        withdrawals = json.loads(self.log.get_meta(WITHDRAWALS_KEY, "[]") or "[]")
        orphaned: list[dict[str, Any]] = []
        keys: list[str] = []
        for block in range(ancestor + 1, last + 1):
            for index in self.log.find(chain_block_key(block)):
                if _withdrawn(withdrawals, block, index):
                    continue
                ev = events.decode(self.log.entry(index))
                cid = ev["consent_id"]
                orphaned.append({"event": ev["type"], "tx": ev["tx"], "log_index": ev["log_index"], "consent_id": cid})
                keys += [consent_key(cid), grant_key(cid) if ev["type"] == events.CONSENT_GRANTED else revocation_key(cid)]
        meta = {CURSOR_KEY: str(ancestor), NODE_HEAD_KEY: str(ancestor), BLOCKS_KEY: json.dumps(kept)}  # the new branch's head is noted afresh
        if not orphaned:
            self.log.append([], meta)
            return
        withdrawal = {
            "type": events.CHAIN_REORGED,
            "block": ancestor,
            "orphaned": orphaned,
            "time": format_time(datetime.now(UTC)),
        }
        meta[WITHDRAWALS_KEY] = json.dumps([*withdrawals, [ancestor, self.log.head]])
        meta[STATE_KEY] = _new_state()
        self.log.append([events.encode(withdrawal)], meta, [sorted(set(keys))], publish=True)

    def note_head(self) -> bool:
        """Record that the node has a (confirmed) block past the followed one, if it does.
        One cheap eth_blockNumber: a watcher calls this many times a second, so that from
        the moment it returns True every decision knows it must follow that block before it
        may release anything (see position)."""
        head = self.registry.client.block_number() - self.confirmations
        if head <= self.position().block:
            return False
        if head > int(self.log.get_meta(NODE_HEAD_KEY, "-1") or -1):
            self.log.append([], {NODE_HEAD_KEY: str(head)})
        return True

    def chain_time(self) -> int:
        """The timestamp of the newest block followed (0 before the first sync)."""
        return int(self.log.get_meta(HEAD_TIME_KEY, "0") or 0)

    def position(self) -> Position:
        """Where the follower stands, read together so it all comes from the same sync."""
        keys = (CURSOR_KEY, HEAD_TIME_KEY, NODE_HEAD_KEY, STATE_KEY)
        found = self.log.get_metas(*keys)
        last = int(found.get(CURSOR_KEY, self.registry.from_block - 1))
        at = Position(last, int(found.get(HEAD_TIME_KEY, 0)), int(found.get(NODE_HEAD_KEY, -1)) > last, found.get(STATE_KEY, ""), {k: found.get(k, "") for k in keys})
        self._last_read = at
        return at

    def last_position(self) -> Position:
        """The position this process read last (read now if none): what a decision whose log
        entry expects it may use instead of a round trip to the log (see Position.meta)."""
        return self._last_read or self.position()


def _withdrawn(withdrawals: list[list[int]], block: int, index: int) -> bool:
    """Whether an earlier reorg already withdrew log entry `index` (of an event in `block`):
    one that went back below `block` after the entry was logged. The follower logs chain
    events only under its lock, so every entry a withdrawal covered lies below the log's
    size when it was written, and every entry logged since lies at or above it."""
    return any(block > ancestor and index < size for ancestor, size in withdrawals)
