"""The citizen's side of MyData in one place: what the citizen app (and the walkthrough) does.

It holds the wallet (recovery phrase, records, salts, receipts) and talks to the operator,
the PDS and a chain node over HTTP, signing every request. Consent state is read from
the chain itself and the access history is verified here, so nothing the citizen is
shown rests on trusting the operator.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import requests

from ledger import agreement, citizen, signin
from ledger.chain import ChainClient
from ledger.errors import MyDataError
from ledger.history import verify_history
from ledger.problem_json import problem_of
from ledger.record import format_time
from ledger.registry import Registry
from ledger.wallet import Wallet
from pds.client import CitizenPds
from pds.resume import split_resume

EXPORT_FORMAT = "mydata-export/1"


class SignInRefused(MyDataError):
    """The service could not be reached or refused the citizen's sign-in answer."""

    problem_type = "sign-in-refused"


@dataclass(frozen=True)
class Endpoints:
    operator: str
    pds: str
    chain: str


class CitizenAgent:
    def __init__(self, wallet: Wallet, endpoints: Endpoints):
        self.wallet = wallet
        self.endpoints = endpoints
        self.id = wallet.keys.citizen_id()
        self.operator = citizen.signed_operator(wallet, endpoints.operator)
        self.pds = CitizenPds(wallet, endpoints.pds, self.operator)
        self._registry: Registry | None = None

    @classmethod
    def create(cls, path: str | Path, endpoints: Endpoints, passphrase: str, phrase: str | None = None) -> CitizenAgent:
        """A new identity (or one restored from `phrase`) in a new wallet file sealed under `passphrase`."""
        return cls(Wallet.create(path, passphrase, phrase), endpoints)

    @classmethod
    def open(cls, path: str | Path, endpoints: Endpoints, passphrase: str) -> CitizenAgent:
        return cls(Wallet.open(path, passphrase), endpoints)

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = Registry(ChainClient(self.endpoints.chain), self.operator.info()["contract"])
        return self._registry

    # ---- signing in to services ---------------------------------------------------
    def service(self, service_id: str) -> dict:
        """A service as the operator's directory knows it (name, description, callback)."""
        return self.operator.get(f"/v1/services/{service_id}").json()

    def sign_in(self, service_id: str, challenge: str) -> dict:
        """Answer a service's sign-in challenge with this citizen's key, at the callback the
        service registered with the operator (never at an address from the link). Returns
        the service as the directory knows it; SignInRefused if the service refuses."""
        svc = self.service(service_id)
        ans = signin.answer(self.wallet.keys.request_seed(), challenge, svc["id"], svc["callback_url"])
        try:
            resp = requests.post(svc["callback_url"], json=ans.document(), timeout=30)
        except requests.RequestException as exc:
            raise SignInRefused(f"{svc['name']} cannot be reached: {exc}") from None
        if resp.status_code != 204:
            detail = problem_of(resp).get("detail", resp.reason)
            raise SignInRefused(f"{svc['name']} did not accept the sign-in: {detail}")
        return svc

    # ---- the CV ------------------------------------------------------------------
    def save_cv(self, resume: dict) -> dict[str, int]:
        """Validate a JSON Resume and write each of its sections as a new version."""
        return {area: self.pds.write(area, section) for area, section in split_resume(resume).items()}

    def save_section(self, area: str, section) -> int:
        return self.pds.write(area, section)

    def cv(self) -> dict:
        """The CV as the PDS holds it, decrypted and signature-checked here. Versions written
        by services are accepted from those the citizen gave write consent to."""
        writers = {bytes.fromhex(self.operator.get(f"/v1/services/{sid}").json()["sign_key"]) for sid in self._services_with("write")}
        return {area: self.pds.read(area, writers) for area in self.pds.areas()}

    def _services_with(self, access: str) -> set[str]:
        return {
            c["record"]["controller"]["id"]
            for c in self.wallet.data["consents"].values()
            if any(p["access"] == access for p in c["record"]["data_areas"])
        }

    # ---- consent requests ----------------------------------------------------------
    def pending(self) -> list[dict]:
        return citizen.pending_requests(self.wallet, self.operator)

    def agreement_changes(self, request: dict) -> dict | None:
        """What the data agreement a request names lets the service do beyond the one this
        citizen last agreed to with it: {"from": that version, "changes": [plain words]}.
        None when there is nothing to compare (no agreement named, none agreed before, or the
        same version). The earlier agreement is checked against the hash the citizen's own
        record pinned, so the operator cannot rewrite what was agreed."""
        named, sid = request.get("agreement"), request["service"]["id"]
        pins = [c["record"]["agreement"] for c in self.wallet.data["consents"].values() if c["record"]["controller"]["id"] == sid and c["record"].get("agreement")]
        if not named or not pins:
            return None
        last = max(pins, key=lambda pin: pin["version"])
        if last["version"] == named["version"]:
            return None
        earlier = self.operator.get(f"/v1/services/{sid}/agreements/{last['version']}").json()["agreement"]
        agreement.check_pinned(earlier, last)
        return {"from": last["version"], "changes": agreement.widening(earlier, named["agreement"])}

    def approve(self, request: dict, permissions: list[dict] | None = None) -> dict:
        """Grant (all or some of) a request, then share the data keys of the granted read areas."""
        rcpt = citizen.approve(self.wallet, self.operator, request, permissions)
        for area in {p["area"] for p in rcpt["record"]["data_areas"] if p["access"] == "read"}:
            self.pds.share(area)
        return rcpt

    def refuse(self, request: dict) -> dict:
        return citizen.refuse(self.operator, request)

    # ---- consents ------------------------------------------------------------------
    def consents(self) -> list[dict]:
        """Every consent in the wallet with its state as the chain reports it."""
        chain_now = self.registry.client.w3.eth.get_block("latest")["timestamp"]
        out = []
        for cid, c in self.wallet.data["consents"].items():
            on_chain = self.registry.consent(bytes.fromhex(cid[2:]))
            status = on_chain.state(chain_now)
            rec = c["record"]
            out.append(
                {
                    "consent_id": cid, "service": rec["controller"], "purposes": rec["purposes"], "permissions": rec["data_areas"],
                    "granted_at": rec["granted_at"], "expires_at": rec["expires_at"], "status": status,
                    "revoked_at": _unix_time(on_chain.revoked_at),
                    "tx": (c.get("receipt") or {}).get("chain", {}).get("tx"),
                }
            )
        return out

    def foreign_consents(self) -> list[dict]:
        """The consents the operator holds for this citizen that this citizen never gave, with
        the service's name. Each consent's key is derived from the citizen's own seed, so a
        consent whose key on chain is any other was made up by someone else, the operator
        first of all; the rest pass, even those given from another device."""
        report = self.access_report()
        names = report.get("services", {})
        foreign = [c for c in report["consents"] if not self.gave(c["consent_id"])]
        return [{**c, "service_name": names.get(c["service"]) or self._service_name(c["service"])} for c in foreign]

    def _service_name(self, service_id: str) -> str:
        try:
            return str(self.service(service_id)["name"])
        except (MyDataError, KeyError, ValueError):
            return service_id

    def gave(self, consent_id: str) -> bool:
        """Whether this citizen signed consent `consent_id`: it is in the wallet, or the chain
        names as its signer the key this citizen's seed derives for that id."""
        if consent_id in self.wallet.data["consents"]:
            return True
        try:
            cid = bytes.fromhex(consent_id.removeprefix("0x"))
        except (AttributeError, ValueError):
            return False
        return len(cid) == 32 and self.registry.consent(cid).signer == self.wallet.keys.consent_account(cid).address

    def revoke(self, consent_id: str) -> dict:
        """Revoke through the operator, then change the locks of the consent's read areas so
        the service's old data keys open no new version. Returns the chain outcome with the
        revocation time the chain itself reports."""
        outcome = citizen.revoke_via_operator(self.wallet, self.operator, consent_id)
        outcome["relocked"] = self.change_locks_of(consent_id)
        outcome["revoked_at"] = _unix_time(self.registry.consent(bytes.fromhex(consent_id[2:])).revoked_at)
        return outcome

    def change_locks_of(self, consent_id: str) -> dict[str, int]:
        """New data keys for the stored areas a (revoked) consent could read, so the keys
        its service holds open no new version; returns each area's new key version."""
        rec = self.wallet.consent(consent_id)["record"]
        readable = {p["area"] for p in rec["data_areas"] if p["access"] == "read"}
        return {area: self.pds.change_locks(area) for area in sorted(readable & set(self.pds.areas()))}

    # ---- transparency ----------------------------------------------------------------
    def history(self) -> list[dict]:
        """Every log entry about this citizen, each verified here: inclusion proof against
        the latest checkpoint, whose signature and on-chain anchor are checked too; an entry
        under a consent this citizen never gave is marked `never_given`."""
        body = self.operator.get(f"/v1/citizens/{self.id}/history").json()
        if "log_vkey" not in self.wallet.data:  # the log's key is pinned on first use
            self.wallet.update(lambda d: d.setdefault("log_vkey", body["log"]["vkey"]))
        vkey = self.wallet.data["log_vkey"]
        if vkey != body["log"]["vkey"]:
            return [{**e, "status": "failed"} for e in body["entries"]]
        given: dict[str, bool] = {}
        return [
            {**e, "never_given": (cid := e["entry"].get("consent_id")) is not None and not given.setdefault(cid, self.gave(cid))}
            for e in verify_history(body, self.registry, vkey)
        ]

    def access_report(self) -> dict:
        """GDPR Art 15: the operator's account of recipients, purposes and times."""
        return self.operator.get(f"/v1/citizens/{self.id}/report").json()

    def export(self) -> dict:
        """GDPR Art 20: the CV as a JSON Resume plus every consent receipt, as JSON."""
        return {
            "format": EXPORT_FORMAT,
            "exported_at": format_time(datetime.now(UTC)),
            "subject": self.id,
            "resume": self.cv(),
            "receipts": [c["receipt"] for c in self.wallet.data["consents"].values() if c.get("receipt")],
        }

    def erase(self) -> dict:
        """Revoke every active consent, erase the PDS data and the operator's links to this
        citizen, then shred the wallet (phrase and salts): what stays on chain and in the log
        can no longer be tied to anyone."""
        revoked = [c["consent_id"] for c in self.consents() if c["status"] == "active"]
        for cid in revoked:
            citizen.revoke_via_operator(self.wallet, self.operator, cid)
        self.pds.erase()
        self.operator.delete(f"/v1/citizens/{self.id}")
        self.wallet.shred()
        return {"erased": self.id, "revoked": revoked}


def _unix_time(unix: int) -> str | None:
    """A chain timestamp as the records write times; None for 0 (never)."""
    return format_time(datetime.fromtimestamp(unix, UTC)) if unix else None
