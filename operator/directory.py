"""The operator's own records: registered services, consent requests and the consent index.

The consent index maps each consent the operator relayed to its service, citizen,
permissions and expiry, so the release path answers from SQLite without asking the
chain. Revocations come from the audit log (the follower writes a `revoked:<id>` key
for every on-chain revocation, relayed or direct), so the index never goes stale.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from storage.sqlite.connections import ThreadLocalConnections, Writer

SCHEMA = """
CREATE TABLE IF NOT EXISTS services (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, description TEXT NOT NULL, callback_url TEXT NOT NULL,
    sign_key TEXT NOT NULL, enc_key TEXT NOT NULL, registered_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS consent_requests (
    id TEXT PRIMARY KEY, service_id TEXT NOT NULL REFERENCES services(id), citizen TEXT NOT NULL,
    purposes TEXT NOT NULL, permissions TEXT NOT NULL, duration_days INTEGER NOT NULL,
    notice_url TEXT NOT NULL, notice_sha256 TEXT NOT NULL, status TEXT NOT NULL,
    created_at REAL NOT NULL, decided_at REAL, consent_id TEXT, receipt TEXT);
CREATE INDEX IF NOT EXISTS requests_by_citizen ON consent_requests(citizen, status);
CREATE TABLE IF NOT EXISTS consents (
    consent_id TEXT PRIMARY KEY, service_id TEXT NOT NULL, citizen TEXT NOT NULL,
    permissions TEXT NOT NULL, expires_at INTEGER NOT NULL, request_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS consents_by_holder ON consents(citizen, service_id);
CREATE TABLE IF NOT EXISTS citizen_keys (citizen TEXT PRIMARY KEY, enc_key TEXT NOT NULL);
"""


@dataclass(frozen=True)
class Service:
    id: str
    name: str
    description: str
    callback_url: str
    sign_key: bytes
    enc_key: bytes


@dataclass(frozen=True)
class IndexedConsent:
    consent_id: str
    service_id: str
    citizen: str
    permissions: list[dict]
    expires_at: int

    def allows(self, area: str, access: str) -> bool:
        return {"area": area, "access": access} in self.permissions


class Directory:
    def __init__(self, path: str | Path):
        self._writer = Writer(path, SCHEMA)
        self._readers = ThreadLocalConnections(path)

    def _db(self):
        return self._readers.get()

    # ---- services ----------------------------------------------------------------
    def service(self, service_id: str) -> Service | None:
        row = self._db().execute(
            "SELECT id, name, description, callback_url, sign_key, enc_key FROM services WHERE id=?", (service_id,)
        ).fetchone()
        return Service(*row[:4], bytes.fromhex(row[4]), bytes.fromhex(row[5])) if row else None

    def register(self, s: Service) -> None:
        self._writer.execute(
            "INSERT INTO services VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET name=excluded.name,"
            " description=excluded.description, callback_url=excluded.callback_url, sign_key=excluded.sign_key,"
            " enc_key=excluded.enc_key",
            (s.id, s.name, s.description, s.callback_url, s.sign_key.hex(), s.enc_key.hex(), time.time()),
        )

    # ---- consent requests ----------------------------------------------------------
    def add_request(self, service_id: str, citizen: str, purposes: list[str], permissions: list[dict], duration_days: int, notice_url: str, notice_sha256: str) -> str:
        rid = "req_" + secrets.token_hex(16)
        self._writer.execute(
            "INSERT INTO consent_requests VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, NULL, NULL, NULL)",
            (rid, service_id, citizen, json.dumps(purposes), json.dumps(permissions), duration_days, notice_url, notice_sha256, time.time()),
        )
        return rid

    def request(self, rid: str) -> dict | None:
        cur = self._db().execute("SELECT * FROM consent_requests WHERE id=?", (rid,))
        row = cur.fetchone()
        if row is None:
            return None
        out = dict(zip((c[0] for c in cur.description), row, strict=True))
        out["purposes"], out["permissions"] = json.loads(out["purposes"]), json.loads(out["permissions"])
        out["receipt"] = json.loads(out["receipt"]) if out["receipt"] else None
        return out

    def requests_of(self, citizen: str, status: str | None = None) -> list[dict]:
        """A citizen's consent requests, oldest first (only those with `status` if given)."""
        rows = self._db().execute(
            "SELECT id FROM consent_requests WHERE citizen=? AND status=COALESCE(?, status) ORDER BY created_at", (citizen, status)
        )
        return [self.request(r[0]) for r in rows]

    def decide(self, rid: str, status: str, consent: IndexedConsent | None = None, receipt: dict | None = None) -> bool:
        """Close a pending request (and index its consent) atomically; False if it was not pending."""
        with self._writer.transaction() as conn:
            changed = conn.execute(
                "UPDATE consent_requests SET status=?, decided_at=?, consent_id=?, receipt=? WHERE id=? AND status='pending'",
                (status, time.time(), consent.consent_id if consent else None, json.dumps(receipt) if receipt else None, rid),
            ).rowcount
            if changed and consent:
                conn.execute(
                    "INSERT INTO consents VALUES (?, ?, ?, ?, ?, ?)",
                    (consent.consent_id, consent.service_id, consent.citizen, json.dumps(consent.permissions), consent.expires_at, rid),
                )
        return bool(changed)

    # ---- citizens' published encryption keys -----------------------------------------
    def set_citizen_key(self, citizen: str, enc_key: bytes) -> None:
        self._writer.execute("INSERT OR REPLACE INTO citizen_keys VALUES (?, ?)", (citizen, enc_key.hex()))

    def citizen_key(self, citizen: str) -> bytes | None:
        row = self._db().execute("SELECT enc_key FROM citizen_keys WHERE citizen=?", (citizen,)).fetchone()
        return bytes.fromhex(row[0]) if row else None

    # ---- consent index -------------------------------------------------------------
    def consents_of(self, citizen: str, service_id: str) -> list[IndexedConsent]:
        rows = self._db().execute(
            "SELECT consent_id, service_id, citizen, permissions, expires_at FROM consents WHERE citizen=? AND service_id=?",
            (citizen, service_id),
        )
        return [IndexedConsent(r[0], r[1], r[2], json.loads(r[3]), r[4]) for r in rows]

    def consents_for_citizen(self, citizen: str) -> list[IndexedConsent]:
        rows = self._db().execute(
            "SELECT consent_id, service_id, citizen, permissions, expires_at FROM consents WHERE citizen=?", (citizen,)
        )
        return [IndexedConsent(r[0], r[1], r[2], json.loads(r[3]), r[4]) for r in rows]

    def consent(self, consent_id: str) -> IndexedConsent | None:
        r = self._db().execute(
            "SELECT consent_id, service_id, citizen, permissions, expires_at FROM consents WHERE consent_id=?", (consent_id,)
        ).fetchone()
        return IndexedConsent(r[0], r[1], r[2], json.loads(r[3]), r[4]) if r else None

    # ---- erasure ---------------------------------------------------------------------
    def erase_citizen(self, citizen: str) -> int:
        """Forget everything that links a citizen to consents: requests (with the records and
        salts in their receipts), index rows and the published key. Returns rows deleted."""
        return self._writer.erase(
            [(f"DELETE FROM {table} WHERE citizen=?", (citizen,)) for table in ("consent_requests", "consents", "citizen_keys")],
        )
