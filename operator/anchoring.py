"""Anchor the log's signed checkpoints on chain: every N entries or T seconds, and on demand.

Anchors are recorded (size, root, tx, block) next to the log so receipts can cite
the anchoring transaction; the chain itself stays the source of truth.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount

from ledger.registry import Registry
from ledger.tlog import note
from ledger.tlog.checkpoint import Checkpoint
from storage.sqlite.connections import ThreadLocalConnections, connect
from storage.sqlite.log import LogStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS anchors (
    size INTEGER PRIMARY KEY, root BLOB NOT NULL, tx TEXT NOT NULL, block INTEGER NOT NULL,
    anchor_index INTEGER NOT NULL, created_at REAL NOT NULL);
"""


@dataclass(frozen=True)
class AnchorRecord:
    size: int
    root: bytes
    tx: str
    block: int
    anchor_index: int


class Anchorer:
    def __init__(self, log: LogStore, registry: Registry, key: LocalAccount, every_entries: int = 100, every_seconds: float = 30.0):
        self.log = log
        self.registry = registry
        self.key = key
        self.every_entries = every_entries
        self.every_seconds = every_seconds
        self._lock = threading.Lock()
        self._writer = connect(log.path)
        self._writer.executescript(SCHEMA)
        self._db = ThreadLocalConnections(log.path)

    def latest(self) -> AnchorRecord | None:
        row = self._db.get().execute(
            "SELECT size, root, tx, block, anchor_index FROM anchors ORDER BY size DESC LIMIT 1"
        ).fetchone()
        return AnchorRecord(*row) if row else None

    def covering(self, index: int) -> AnchorRecord | None:
        """The oldest anchor whose checkpoint includes log entry `index`."""
        row = self._db.get().execute(
            "SELECT size, root, tx, block, anchor_index FROM anchors WHERE size > ? ORDER BY size LIMIT 1", (index,)
        ).fetchone()
        return AnchorRecord(*row) if row else None

    def all(self) -> list[AnchorRecord]:
        rows = self._db.get().execute("SELECT size, root, tx, block, anchor_index FROM anchors ORDER BY size")
        return [AnchorRecord(*r) for r in rows]

    def due(self, now: float | None = None) -> bool:
        last = self.latest()
        last_size = last.size if last else 0
        grown = self.log.size - last_size
        if grown <= 0:
            return False
        if grown >= self.every_entries:
            return True
        since = self._db.get().execute("SELECT MAX(created_at) FROM anchors").fetchone()[0] or 0
        return (now or time.time()) - since >= self.every_seconds

    def anchor_now(self) -> AnchorRecord | None:
        """Anchor the latest checkpoint unless it is anchored already."""
        with self._lock:
            cp = Checkpoint.parse(note.split(self.log.latest_checkpoint())[0])
            last = self.latest()
            if cp.size == 0 or (last and last.size >= cp.size):
                return last
            receipt = self.registry.anchor(cp.size, cp.root, self.key)
            ev = self.registry.contract.events.CheckpointAnchored().process_receipt(receipt)[0]
            tx = "0x" + bytes(receipt["transactionHash"]).hex()
            rec = AnchorRecord(cp.size, cp.root, tx, receipt["blockNumber"], ev["args"]["index"])
            self._record(rec)
            return rec

    def _record(self, rec: AnchorRecord) -> None:
        self._writer.execute(
            "INSERT OR IGNORE INTO anchors(size, root, tx, block, anchor_index, created_at) VALUES (?,?,?,?,?,?)",
            (rec.size, rec.root, rec.tx, rec.block, rec.anchor_index, time.time()),
        )

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
