"""Bytes the operator stores per consent and per log entry (SQLite, the embedded default).

Consents: N consent requests decided through the directory the operator uses, each with
the receipt a real approval produces (tests/data/recorded_chain.json's, with fresh ids),
measured three times: while the receipts wait for their services, after every service took
its receipt (the operator then keeps only what releases and the Art 15 report need), and
once the consents ended and were archived (storage/directory.py). Log entries: N
`data.read` entries appended in batches of 100 (a busy operator), and N/10 one per commit,
each with its two lookup keys, as the release path writes them (checkpoints are signed
once a second, not per commit: storage/log.py). Sizes are SQLite's pages in use after a WAL checkpoint.
Run: .venv/bin/python bench/storage_bytes.py [--consents 5000] [--entries 50000]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sqlite3
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ledger import events  # noqa: E402
from ledger.tlog.note import Signer  # noqa: E402
from storage.backends import SqliteBackend  # noqa: E402
from storage.directory import IndexedConsent, Service  # noqa: E402

RECEIPT = json.loads((Path(__file__).resolve().parent.parent / "tests" / "data" / "recorded_chain.json").read_text())["receipt"]


def used_bytes(path: Path) -> int:
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages, free, size = (db.execute(f"PRAGMA {p}").fetchone()[0] for p in ("page_count", "freelist_count", "page_size"))
    return (pages - free) * size


def consents(folder: Path, n: int) -> tuple[float, float, float]:
    backend = SqliteBackend(folder)
    directory = backend.directory()
    directory.register(Service("cv-builder", "CV Builder", "Builds CVs", "https://cv.example/callback", b"\x01" * 32, b"\x02" * 32))
    before = used_bytes(folder / "operator.sqlite")
    record = RECEIPT["record"]
    rids, cids = [], []
    for _ in range(n):
        citizen = "citizen:" + os.urandom(32).hex()
        rid = directory.add_request("cv-builder", citizen, record["purposes"], record["data_areas"], 90, record["notice"]["url"], record["notice"]["sha256"], 1)
        receipt = copy.deepcopy(RECEIPT)
        cid = "0x" + os.urandom(32).hex()
        receipt["record"]["record_id"] = receipt["grant"]["consent_id"] = cid
        directory.decide(rid, "approved", IndexedConsent(cid, "cv-builder", citizen, record["data_areas"], 4_070_908_800), receipt)  # granted as asked
        rids.append(rid)
        cids.append(cid)
    waiting = (used_bytes(folder / "operator.sqlite") - before) / n
    for rid in rids:
        directory.receipt_taken(rid)
    taken = _vacuumed(folder / "operator.sqlite", before, n)
    backend.outbox().queue([], 0, 0.0, [(cid, 0.0) for cid in cids])  # the notifier noted their endings
    for cid in cids:
        directory.archive(cid)
    return waiting, taken, _vacuumed(folder / "operator.sqlite", before, n)


def _vacuumed(path: Path, before: int, n: int) -> float:
    """Bytes per consent in use after a VACUUM (deleted rows' pages returned)."""
    with sqlite3.connect(path) as db:
        db.execute("VACUUM")
    return (used_bytes(path) - before) / n


def log_entries(folder: Path, n: int, batch_size: int) -> float:
    log = SqliteBackend(folder).log("bench.example/log", Signer("bench.example/log", os.urandom(32)))
    before = used_bytes(folder / "log.sqlite")
    for start in range(0, n, batch_size):
        batch, keys = [], []
        for _ in range(min(batch_size, n - start)):
            citizen, cid = "citizen:" + os.urandom(32).hex(), "0x" + os.urandom(32).hex()
            entry = {"type": events.DATA_READ, "service": "cv-builder", "area": "work", "decision": "released", "consent_id": cid,
                     "block": 1234, "time": "2026-11-30T10:00:00Z", "version": 3}
            batch.append(events.encode(entry))
            keys.append([citizen, "consent:" + cid])
        log.append(batch, keys=keys)
    return (used_bytes(folder / "log.sqlite") - before) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--consents", type=int, default=5000)
    ap.add_argument("--entries", type=int, default=50000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        waiting, taken, archived = consents(Path(tmp) / "consents", args.consents)
        batched = log_entries(Path(tmp) / "log", args.entries, 100)
        single = log_entries(Path(tmp) / "log1", args.entries // 10, 1)
    print(f"operator store per consent: {waiting:,.0f} B while its receipt waits for the service, {taken:,.0f} B once the service took it,"
          f" {archived:,.0f} B once it ended and was archived")
    print(f"audit log per entry (data.read with two lookup keys): {batched:,.0f} B in batches of 100, {single:,.0f} B one per commit")


if __name__ == "__main__":
    main()
