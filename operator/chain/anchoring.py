"""Anchor the log's signed checkpoints on chain: every N entries or T seconds, and on demand.

Anchors are recorded (size, root, tx, block) next to the log so receipts can cite
the anchoring transaction; the chain itself stays the source of truth. With witnesses, each
checkpoint is cosigned (log/witnessing.py) before it is anchored, so the checkpoint that
receipts and histories cite carries the witnesses' cosignatures.
"""

from __future__ import annotations

import threading
import time

from eth_account.signers.local import LocalAccount

from ledger.registry import Registry
from ledger.tlog import note
from ledger.tlog.checkpoint import Checkpoint
from storage.log import AnchorRecord, LogStore

from ..log.witnessing import Witnesses


class Anchorer:
    def __init__(
        self, log: LogStore, registry: Registry, key: LocalAccount, every_entries: int = 100, every_seconds: float = 30.0, witnesses: Witnesses | None = None
    ):
        self.log = log
        self.witnesses = witnesses or Witnesses([])
        self.registry = registry
        self.key = key
        self.every_entries = every_entries
        self.every_seconds = every_seconds
        self._lock = threading.Lock()

    def latest(self) -> AnchorRecord | None:
        return self.log.backend.latest_anchor()

    def covering(self, index: int) -> AnchorRecord | None:
        """The oldest anchor whose checkpoint includes log entry `index`."""
        return self.log.backend.anchor_covering(index)

    def all(self) -> list[AnchorRecord]:
        return self.log.backend.anchors()

    def due(self, now: float | None = None) -> bool:
        last = self.latest()
        last_size = last.size if last else 0
        grown = self.log.head - last_size
        if grown <= 0:
            return False
        if grown >= self.every_entries:
            return True
        since = self.log.backend.last_anchor_time()
        return (now or time.time()) - since >= self.every_seconds

    def anchor_now(self) -> AnchorRecord | None:
        """Publish a checkpoint of every durable entry and anchor it, unless it is anchored already."""
        with self._lock:
            self.log.publish()
            cp = Checkpoint.parse(note.split(self.log.latest_checkpoint())[0])
            last = self.latest()
            if cp.size == 0 or (last and last.size >= cp.size):
                return last
            self.witnesses.cosign(self.log, cp.size)
            receipt = self.registry.anchor(cp.size, cp.root, self.key)
            ev = self.registry.contract.events.CheckpointAnchored().process_receipt(receipt)[0]
            tx = "0x" + bytes(receipt["transactionHash"]).hex()
            rec = AnchorRecord(cp.size, cp.root, tx, receipt["blockNumber"], ev["args"]["index"])
            self._record(rec)
            return rec

    def _record(self, rec: AnchorRecord) -> None:
        self.log.backend.record_anchor(rec)

    def reconcile(self) -> None:
        """Record anchors that reached the chain but not our table (a crash between the two)."""
        with self._lock:
            head = self.registry.client.block_number()
            for ev in self.registry.events(self.registry.from_block, head):
                if ev.name == "CheckpointAnchored":
                    a = ev.args
                    self._record(AnchorRecord(a["size"], a["root"], ev.tx, ev.block, a["index"]))

    def ensure_covers(self, index: int) -> AnchorRecord:
        return self.covering(index) or self.anchor_now()

    def tick(self) -> None:
        if self.due():
            self.anchor_now()
