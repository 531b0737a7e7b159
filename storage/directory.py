"""The operator's own records: registered services, consent requests and the consent index.

The consent index maps each consent the operator relayed to its service, citizen,
permissions and expiry, so the release path answers from its own store without asking
the chain. Revocations come from the audit log (the follower writes a `revoked:<id>` key
for every on-chain revocation, relayed or direct), so the index never goes stale.
A consent that ended (revoked or expired) long enough ago is archived: its index row,
request and purposes move into one compact `archived_consents` document, so the hot tables
the release path reads hold live consents only, while the citizen's history and Art 15
report still name it (`consent`, `consents_for_citizen` and `requests_of` read both).
Written once in portable SQL over an `SqlDatabase` (SQLite on one host, PostgreSQL for
replicas).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .sql import SqlDatabase


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
    permissions: list[dict[str, str]]
    expires_at: int

    def allows(self, area: str, access: str) -> bool:
        return {"area": area, "access": access} in self.permissions


_REQUEST = "id, service_id, citizen, purposes, permissions, duration_days, notice_url, notice_sha256, status, created_at, decided_at, consent_id, receipt"
_CONSENT = "consent_id, service_id, citizen, permissions, expires_at"


def _consent(r: tuple[Any, ...]) -> IndexedConsent:
    return IndexedConsent(r[0], r[1], r[2], json.loads(r[3]), r[4])


@dataclass(frozen=True)
class _Archived:
    """An archived consent read back: its index row, its request (as `Directory.request`
    gives it, without notice or receipt) and its narrowed purposes, if any."""

    consent: IndexedConsent
    request: dict[str, Any]
    narrowed_purposes: list[str] | None


def _archive_document(consent: IndexedConsent, request: dict[str, Any], narrowed: list[str] | None) -> str:
    """One compact JSON document: the id, citizen and service once (the id and citizen are
    columns), the request's permissions only where they differ from the consent's."""
    doc: dict[str, Any] = {
        "service": consent.service_id, "permissions": consent.permissions, "expires_at": consent.expires_at, "request": request["id"],
        "purposes": request["purposes"], "days": request["duration_days"], "asked_at": request["created_at"], "decided_at": request["decided_at"],
    }
    if request["permissions"] != consent.permissions:
        doc["asked"] = request["permissions"]
    if narrowed is not None:
        doc["narrowed"] = narrowed
    return json.dumps(doc, separators=(",", ":"))


def _archived_of(consent_id: str, citizen: str, document: str) -> _Archived:
    doc = json.loads(document)
    consent = IndexedConsent(consent_id, doc["service"], citizen, doc["permissions"], doc["expires_at"])
    request = {
        "id": doc["request"], "service_id": doc["service"], "citizen": citizen, "purposes": doc["purposes"], "permissions": doc.get("asked", doc["permissions"]),
        "duration_days": doc["days"], "notice_url": None, "notice_sha256": None, "status": "approved", "created_at": doc["asked_at"],
        "decided_at": doc["decided_at"], "consent_id": consent_id, "receipt": None,
    }
    return _Archived(consent, request, doc.get("narrowed"))


class Directory:
    def __init__(self, db: SqlDatabase):
        self._db = db

    # ---- services ----------------------------------------------------------------
    def service(self, service_id: str) -> Service | None:
        rows = self._db.rows("SELECT id, name, description, callback_url, sign_key, enc_key FROM services WHERE id=%s", (service_id,))
        if not rows:
            return None
        sid, name, description, callback_url, sign_key, enc_key = rows[0]
        return Service(sid, name, description, callback_url, bytes.fromhex(sign_key), bytes.fromhex(enc_key))

    def register(self, s: Service) -> None:
        self._db.execute(
            "INSERT INTO services VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT(id) DO UPDATE SET name=excluded.name,"
            " description=excluded.description, callback_url=excluded.callback_url, sign_key=excluded.sign_key,"
            " enc_key=excluded.enc_key",
            (s.id, s.name, s.description, s.callback_url, s.sign_key.hex(), s.enc_key.hex(), time.time()),
        )

    def set_notify_url(self, service_id: str, url: str | None) -> None:
        """Where `service_id` takes notifications (None: it takes none)."""
        if url is None:
            self._db.execute("DELETE FROM service_endpoints WHERE service_id=%s", (service_id,))
        else:
            self._db.execute(
                "INSERT INTO service_endpoints VALUES (%s, %s) ON CONFLICT(service_id) DO UPDATE SET notify_url=excluded.notify_url", (service_id, url)
            )

    def notify_url(self, service_id: str) -> str | None:
        rows = self._db.rows("SELECT notify_url FROM service_endpoints WHERE service_id=%s", (service_id,))
        return str(rows[0][0]) if rows else None

    # ---- data agreements (ledger/agreement.py) ----------------------------------------
    def publish_agreement(self, service_id: str, terms: dict[str, Any], same: Callable[[dict[str, Any], dict[str, Any]], bool]) -> tuple[dict[str, Any], bool]:
        """Publish `terms` (an agreement without its version) as the service's next version,
        unless the latest version says the same (`same`); returns (that version, whether it is
        new). The version is taken in the INSERT itself and is the table's key, so two
        publications never share one (a racing second one fails and may be sent again)."""
        latest = self.agreements_of(service_id)[-1:]
        if latest and same(latest[0], {**terms, "version": latest[0]["version"]}):
            return latest[0], False
        body = json.dumps({k: v for k, v in terms.items() if k != "version"}, sort_keys=True)
        self._db.execute(
            "INSERT INTO agreements SELECT %s, COALESCE(MAX(version), 0) + 1, %s, %s FROM agreements WHERE service_id=%s",
            (service_id, body, time.time(), service_id),
        )
        rows = self._db.rows("SELECT version FROM agreements WHERE service_id=%s AND document=%s ORDER BY version DESC LIMIT 1", (service_id, body))
        return {**terms, "version": int(rows[0][0])}, True

    def agreement(self, service_id: str, version: int) -> dict[str, Any] | None:
        rows = self._db.rows("SELECT version, document FROM agreements WHERE service_id=%s AND version=%s", (service_id, version))
        return {**json.loads(rows[0][1]), "version": int(rows[0][0])} if rows else None

    def agreements_of(self, service_id: str) -> list[dict[str, Any]]:
        """Every published version of the service's agreement, oldest first."""
        rows = self._db.rows("SELECT version, document FROM agreements WHERE service_id=%s ORDER BY version", (service_id,))
        return [{**json.loads(doc), "version": int(version)} for version, doc in rows]

    # ---- consent requests ----------------------------------------------------------
    def add_request(
        self, service_id: str, citizen: str, purposes: list[str], permissions: list[dict[str, str]], duration_days: int, notice_url: str, notice_sha256: str,
        agreement_version: int | None = None,
    ) -> str:
        """A new pending request (naming a version of the service's agreement, if given)."""
        rid = "req_" + secrets.token_hex(16)
        with self._db.transaction() as tx:
            tx.execute(
                "INSERT INTO consent_requests VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'pending', %s, NULL, NULL, NULL)",
                (rid, service_id, citizen, json.dumps(purposes), json.dumps(permissions), duration_days, notice_url, notice_sha256, time.time()),
            )
            if agreement_version is not None:
                tx.execute("INSERT INTO request_agreements VALUES (%s, %s)", (rid, agreement_version))
        return rid

    def request_agreement(self, rid: str) -> int | None:
        """The agreement version request `rid` names (None: none)."""
        rows = self._db.rows("SELECT version FROM request_agreements WHERE request_id=%s", (rid,))
        return int(rows[0][0]) if rows else None

    @staticmethod
    def _request_of(row: tuple[Any, ...]) -> dict[str, Any]:
        out = dict(zip(_REQUEST.split(", "), row, strict=True))
        out["purposes"], out["permissions"] = json.loads(out["purposes"]), json.loads(out["permissions"])
        out["receipt"] = json.loads(out["receipt"]) if out["receipt"] else None
        out["notice_url"], out["notice_sha256"] = out["notice_url"] or None, out["notice_sha256"] or None  # None once decided
        return out

    def _archived(self, where: str, arg: str) -> list[_Archived]:
        return [_archived_of(*row) for row in self._db.rows(f"SELECT consent_id, citizen, document FROM archived_consents WHERE {where}=%s", (arg,))]

    def request(self, rid: str) -> dict[str, Any] | None:
        rows = self._db.rows(f"SELECT {_REQUEST} FROM consent_requests WHERE id=%s", (rid,))
        return self._request_of(rows[0]) if rows else None

    def requests_of(self, citizen: str, status: str | None = None) -> list[dict[str, Any]]:
        """A citizen's consent requests, oldest first (only those with `status` if given)."""
        rows = self._db.rows(
            f"SELECT {_REQUEST} FROM consent_requests WHERE citizen=%s AND status=COALESCE(%s, status) ORDER BY created_at", (citizen, status)
        )
        archived = [a.request for a in self._archived("citizen", citizen) if status in (None, a.request["status"])]
        return sorted([self._request_of(r) for r in rows] + archived, key=lambda r: r["created_at"])

    def decide(
        self, rid: str, status: str, consent: IndexedConsent | None = None, receipt: dict[str, Any] | None = None, purposes: list[str] | None = None
    ) -> bool:
        """Close a pending request atomically (forgetting its notice: checked, it is in the
        receipt's record); False if it was not pending. An approval indexes its consent, keeps its `purposes` if the citizen approved fewer than asked,
        and holds its receipt until the service takes it (`receipt_taken`): what releases and
        the Art 15 report need, and no more (the grant's transaction and time are in the log)."""
        with self._db.transaction() as tx:
            changed = tx.execute(  # the notice was checked against the approval: its URL and hash are the citizen's and service's now
                "UPDATE consent_requests SET status=%s, decided_at=%s, consent_id=%s, receipt=%s, notice_url='', notice_sha256=''"
                " WHERE id=%s AND status='pending'",
                (status, time.time(), consent.consent_id if consent else None, json.dumps(receipt) if receipt else None, rid),
            )
            if changed and consent:
                tx.execute(
                    "INSERT INTO consents VALUES (%s, %s, %s, %s, %s, %s)",
                    (consent.consent_id, consent.service_id, consent.citizen, json.dumps(consent.permissions), consent.expires_at, rid),
                )
                if purposes is not None:
                    tx.execute("INSERT INTO narrowed_purposes VALUES (%s, %s)", (consent.consent_id, json.dumps(purposes)))
        return bool(changed)

    def receipt_taken(self, rid: str) -> bool:
        """The service keeps the receipt of request `rid` now: the operator drops its copy
        (the citizen and the service hold theirs; the log has the commitment)."""
        return bool(self._db.execute("UPDATE consent_requests SET receipt=NULL WHERE id=%s AND status='approved' AND receipt IS NOT NULL", (rid,)))

    def narrowed_purposes(self, consent_id: str) -> list[str] | None:
        """The consent's purposes if the citizen approved fewer than asked (None: as asked)."""
        live = self._live_narrowed(consent_id)
        if live is not None:
            return live
        archived = self._archived("consent_id", consent_id)
        return archived[0].narrowed_purposes if archived else None

    def _live_narrowed(self, consent_id: str) -> list[str] | None:
        rows = self._db.rows("SELECT purposes FROM narrowed_purposes WHERE consent_id=%s", (consent_id,))
        return list(json.loads(rows[0][0])) if rows else None

    # ---- citizens' published encryption keys -----------------------------------------
    def set_citizen_key(self, citizen: str, enc_key: bytes) -> None:
        self._db.execute(
            "INSERT INTO citizen_keys VALUES (%s, %s) ON CONFLICT(citizen) DO UPDATE SET enc_key=excluded.enc_key", (citizen, enc_key.hex())
        )

    def citizen_key(self, citizen: str) -> bytes | None:
        rows = self._db.rows("SELECT enc_key FROM citizen_keys WHERE citizen=%s", (citizen,))
        return bytes.fromhex(rows[0][0]) if rows else None

    # ---- consent index -------------------------------------------------------------
    def consents_of(self, citizen: str, service_id: str) -> list[IndexedConsent]:
        return [_consent(r) for r in self._db.rows(f"SELECT {_CONSENT} FROM consents WHERE citizen=%s AND service_id=%s", (citizen, service_id))]

    def consents_for_citizen(self, citizen: str) -> list[IndexedConsent]:
        """The citizen's consents, live and archived."""
        live = [_consent(r) for r in self._db.rows(f"SELECT {_CONSENT} FROM consents WHERE citizen=%s", (citizen,))]
        return live + [a.consent for a in self._archived("citizen", citizen)]

    def consent(self, consent_id: str) -> IndexedConsent | None:
        """A consent, live or archived (the release path reads live ones: `consents_of`)."""
        rows = self._db.rows(f"SELECT {_CONSENT} FROM consents WHERE consent_id=%s", (consent_id,))
        if rows:
            return _consent(rows[0])
        archived = self._archived("consent_id", consent_id)
        return archived[0].consent if archived else None

    # ---- ended consents: noted, then archived ------------------------------------------
    def endings_before(self, cutoff: float, limit: int = 5000) -> list[str]:
        """Consents noted as ended before `cutoff`, oldest first (the notifier notes each
        ending it reads in the log: storage/outbox.py)."""
        return [r[0] for r in self._db.rows("SELECT consent_id FROM consent_endings WHERE ended_at<%s ORDER BY ended_at LIMIT %s", (cutoff, limit))]

    def drop_ending(self, consent_id: str) -> None:
        """Forget a noted ending (the consent holds again: a reorg withdrew its revocation)."""
        self._db.execute("DELETE FROM consent_endings WHERE consent_id=%s", (consent_id,))

    def archive(self, consent_id: str) -> bool:
        """Move an ended consent out of the hot tables into one archived document, in one
        transaction (its noted ending goes too); False if it is not in the hot tables."""
        rows = self._db.rows(f"SELECT {_CONSENT}, request_id FROM consents WHERE consent_id=%s", (consent_id,))
        if not rows:
            self.drop_ending(consent_id)
            return False
        consent, rid = _consent(rows[0]), rows[0][5]
        request = self.request(rid)
        if request is None:  # (an index row always has its request: decide writes both)
            raise LookupError(f"consent {consent_id} has no request {rid}")
        document = _archive_document(consent, request, self._live_narrowed(consent_id))  # (not archived yet: no look there)
        with self._db.transaction() as tx:
            tx.execute(
                "INSERT INTO archived_consents VALUES (%s, %s, %s) ON CONFLICT(consent_id) DO NOTHING",
                (consent_id, consent.citizen, document),
            )
            for sql, arg in (
                ("DELETE FROM consents WHERE consent_id=%s", consent_id), ("DELETE FROM narrowed_purposes WHERE consent_id=%s", consent_id),
                ("DELETE FROM consent_requests WHERE id=%s", rid), ("DELETE FROM request_agreements WHERE request_id=%s", rid),
                ("DELETE FROM consent_endings WHERE consent_id=%s", consent_id),
            ):
                tx.execute(sql, (arg,))
        return True

    # ---- erasure ---------------------------------------------------------------------
    def erase_citizen(self, citizen: str) -> int:
        """Forget everything that links a citizen to consents: requests (with the records and
        salts in their receipts), index rows, the published key and notifications about them
        (storage/outbox.py). Returns rows deleted."""
        return self._db.erase(
            [("DELETE FROM request_agreements WHERE request_id IN (SELECT id FROM consent_requests WHERE citizen=%s)", (citizen,)),
             ("DELETE FROM narrowed_purposes WHERE consent_id IN (SELECT consent_id FROM consents WHERE citizen=%s)", (citizen,)),
             ("DELETE FROM consent_endings WHERE consent_id IN (SELECT consent_id FROM consents WHERE citizen=%s)", (citizen,))]
            + [(f"DELETE FROM {table} WHERE citizen=%s", (citizen,))
               for table in ("consent_requests", "consents", "archived_consents", "citizen_keys", "notifications")],
        )

    def consents_expiring(self, after: int, up_to: int) -> list[IndexedConsent]:
        """Consents whose expiry lies in (after, up_to], soonest first."""
        return [_consent(r) for r in self._db.rows(f"SELECT {_CONSENT} FROM consents WHERE expires_at>%s AND expires_at<=%s ORDER BY expires_at", (after, up_to))]
