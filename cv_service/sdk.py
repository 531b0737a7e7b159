"""The SDK every service uses: register, request consent, follow a request, verify its
receipt, read and write CV areas, and receive "consent ended" notifications.

All calls are RFC 9421-signed with the service's Ed25519 key (key id `service:<id>`).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from typing import Protocol

from nacl.public import PrivateKey
from nacl.signing import SigningKey

from ledger import receipt
from ledger.citizen import OperatorClient
from ledger.keys import citizen_public_key
from ledger.registry import registry_factory
from ledger.request_auth import RequestSigner
from pds.envelope import StaleEnvelope, check_current, new_data_key, open_envelope, seal, unwrap_key, wrap_key
from pds.resume import validate_area

from .notifications import NotificationReceiver


class SeenVersions(Protocol):
    """Where a service remembers the newest version of each citizen's area it has read or
    written, so that an older one served later (a rollback, a dropped version) is refused."""

    def highest(self, citizen: str, area: str) -> int: ...

    def saw(self, citizen: str, area: str, version: int) -> None: ...


class SeenInMemory:
    """SeenVersions for one process's lifetime (a service keeps them durably in its own store)."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def highest(self, citizen: str, area: str) -> int:
        return self._seen.get((citizen, area), 0)

    def saw(self, citizen: str, area: str, version: int) -> None:
        with self._lock:
            self._seen[(citizen, area)] = max(version, self._seen.get((citizen, area), 0))


class ReceiptKeeper(Protocol):
    """Where a service keeps the receipts of its consents: the operator hands each over once
    and then drops its own copy (a service keeps them durably in its own store)."""

    def keep_receipt(self, request_id: str, receipt: dict) -> None: ...

    def receipt_of(self, request_id: str) -> dict | None: ...


class ReceiptsInMemory:
    """ReceiptKeeper for one process's lifetime."""

    def __init__(self) -> None:
        self._receipts: dict[str, dict] = {}

    def keep_receipt(self, request_id: str, receipt: dict) -> None:
        self._receipts[request_id] = receipt

    def receipt_of(self, request_id: str) -> dict | None:
        return self._receipts.get(request_id)


@dataclass(frozen=True)
class GrantedConsent:
    """A consent as a service needs it: what it grants, and if it ended, how and when."""

    consent_id: str
    granted: frozenset[tuple[str, str]]  # (area, access)
    ended: str | None  # None while it holds; "revoked" or "expired"
    ended_at: int  # unix time of the revocation, else of the expiry

    def allows(self, area: str, access: str = "read") -> bool:
        return self.ended is None and (area, access) in self.granted


class ServiceClient:
    def __init__(
        self, operator_url: str, service_id: str, sign_seed: bytes, enc_key: PrivateKey, seen: SeenVersions | None = None, receipts: ReceiptKeeper | None = None
    ):
        self.service_id = service_id
        self.seen = seen or SeenInMemory()
        self.receipts = receipts or ReceiptsInMemory()
        self.signer = RequestSigner(f"service:{service_id}", sign_seed)
        self.signing = SigningKey(sign_seed)  # signs the versions this service writes
        self.enc_key = enc_key
        self.operator = OperatorClient(operator_url)
        self.operator.session.auth = self.signer
        self.notifications = NotificationReceiver(service_id, self._operator_key)

    def register(self, name: str, description: str, callback_url: str, notify_url: str | None = None) -> dict:
        """Register (or update) this service; with `notify_url`, the operator POSTs signed
        "consent ended" notifications there (verify them with `self.notifications.receive`)."""
        body = {
            "id": self.service_id,
            "name": name,
            "description": description,
            "callback_url": callback_url,
            "sign_key": self.signer.public_key().hex(),
            "enc_key": bytes(self.enc_key.public_key).hex(),
        }
        return self.operator.post("/v1/services", {**body, "notify_url": notify_url} if notify_url else body)

    def _operator_key(self) -> tuple[str, bytes]:
        """The key the operator signs notifications with, as it publishes it."""
        published = self.operator.get("/ledger/info").json()["notifications"]
        return published["key_id"], bytes.fromhex(published["public_key"])

    def publish_agreement(self, purposes: list[str], data_areas: list[dict], retention_days: int, recipients: list[str], jurisdiction: str = "SE") -> dict:
        """Publish this service's data agreement (ledger/agreement.py): a new version if the
        terms changed, else the latest. Returns {version, sha256, agreement, widens}: `widens`
        lists what a new version lets the service do beyond the last, for which existing
        consents do not hold (ask those citizens again, naming the new version)."""
        terms = {"purposes": purposes, "data_areas": data_areas, "retention_days": retention_days, "recipients": recipients, "jurisdiction": jurisdiction}
        return self.operator.post(f"/v1/services/{self.service_id}/agreements", terms)

    def latest_agreement_version(self) -> int | None:
        published = self.operator.get(f"/v1/services/{self.service_id}/agreements").json()
        return published[-1]["version"] if published else None

    def request_consent(
        self, citizen: str, purposes: list[str], permissions: list[dict], duration_days: int, notice_url: str, notice_text: bytes,
        agreement_version: int | None = None,
    ) -> str:
        """Ask a citizen for consent (under a version of this service's data agreement, if
        given: the request may ask for no more than it says); returns the request id."""
        body = {
            "citizen": citizen,
            "purposes": purposes,
            "permissions": permissions,
            "duration_days": duration_days,
            "notice_url": notice_url,
            "notice_sha256": hashlib.sha256(notice_text).hexdigest(),
        }
        return self.operator.post("/v1/consent-requests", {**body, "agreement_version": agreement_version} if agreement_version else body)["id"]

    def consent_request(self, request_id: str) -> dict:
        """The request's status, and its receipt once the citizen approved. The first time the
        operator hands the receipt over it is kept (`receipts`), then the operator is told to
        drop its copy; later answers carry the kept one."""
        req: dict = self.operator.get(f"/v1/consent-requests/{request_id}").json()
        if req.get("receipt"):
            self.receipts.keep_receipt(request_id, req["receipt"])
            self.operator.request("DELETE", f"/v1/consent-requests/{request_id}/receipt")
        elif req["status"] == "approved":
            req["receipt"] = self.receipts.receipt_of(request_id)
        return req

    def verify_receipt(self, rcpt: dict, chain_url: str, vkey: str | None = None, citizen: str | None = None) -> receipt.ReceiptReport:
        """Check a consent receipt against a chain node alone (raises ReceiptError naming the
        failing part): record, salt, signature, the citizen's authorization of the consent's
        key (by `citizen`, when given: the id the service knows from sign-in), on-chain
        state, log inclusion and anchor."""
        return receipt.verify(rcpt, registry_factory(chain_url), vkey, citizen)

    def read_area(self, citizen: str, area: str, trusted_writers: set[bytes] = frozenset()):
        """Read and decrypt an area under read consent; only the citizen, this service and
        `trusted_writers` (e.g. known certificate issuers) are accepted as its writer, and
        only the version released as the latest, never older than one seen before
        (StaleEnvelope). None if the citizen has stored nothing there yet."""
        seen = self.seen.highest(citizen, area)
        released = self.operator.get(f"/v1/citizens/{citizen}/areas/{area}" + (f"?min_version={seen}" if seen else "")).json()
        if released.get("empty"):
            if seen:
                raise StaleEnvelope(f"{area} was released empty, but version {seen} was seen before")
            return None
        check_current(released["envelope"], area, released["version"], seen)
        key = unwrap_key(released["wrapped_key"], self.enc_key)
        trusted = {citizen_public_key(citizen), bytes(self.signing.verify_key), *trusted_writers}
        document = open_envelope(released["envelope"], key, trusted)
        validate_area(area, document)
        self.seen.saw(citizen, area, released["version"])
        return document

    def consent_for(self, request_id: str) -> GrantedConsent | None:
        """What the citizen granted in answer to consent request `request_id` and whether it
        still holds (None until approved): read only what it covers, so a page view logs no
        denial of an area the citizen chose not to share."""
        req = self.consent_request(request_id)
        if req["status"] != "approved":
            return None
        state = self.operator.get(f"/ledger/consents/{req['consent_id']}").json()
        granted = frozenset((p["area"], p["access"]) for p in req["granted"])
        ended = "revoked" if state["revoked_at"] else (None if state["active"] else "expired")
        return GrantedConsent(req["consent_id"], granted, ended, state["revoked_at"] or state["expires_at"])

    def write_area(self, citizen: str, area: str, document) -> int:
        """Validate, seal (signed by this service) and write the next version of an area under
        write consent; its fresh data key is wrapped for the citizen and for this service."""
        validate_area(area, document)
        nxt = self.operator.get(f"/v1/citizens/{citizen}/areas/{area}/versions/next").json()
        if nxt["version"] <= self.seen.highest(citizen, area):
            raise StaleEnvelope(f"the store is at version {nxt['version'] - 1} of {area}, but version {self.seen.highest(citizen, area)} was seen before")
        key = new_data_key()
        body = {
            "version": nxt["version"],
            "key_version": nxt["key_version"],
            "envelope": seal(area, nxt["version"], document, key, self.signing),
            "wrapped": {
                citizen: wrap_key(key, bytes.fromhex(nxt["citizen_enc_key"])),
                f"service:{self.service_id}": wrap_key(key, bytes(self.enc_key.public_key)),
            },
        }
        version = self.operator.post(f"/v1/citizens/{citizen}/areas/{area}/versions", body)["version"]
        self.seen.saw(citizen, area, version)
        return version
