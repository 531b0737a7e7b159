"""The citizen's side of granting and revoking: sign locally, let the operator relay.

The operator only ever sees the consent id, the salted commitment, the expiry and
the signature; the record and its salt stay in the citizen's wallet.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import requests
from eth_account.signers.local import LocalAccount

from . import agreement, consent_binding, eip712, receipt, record
from .chain import ChainError, is_development_chain
from .errors import MyDataError
from .problem_json import problem_of, unreachable
from .registry import Registry
from .request_auth import RequestSigner
from .wallet import Wallet


class OperatorError(MyDataError):
    """The operator refused or failed; carries its RFC 9457 problem."""

    problem_type = "operator-error"

    def __init__(self, problem: dict[str, Any]):
        super().__init__(f"{problem.get('title', 'operator error')}: {problem.get('detail', '')}".rstrip(": "))
        self.problem = problem


class OperatorClient:
    def __init__(self, url: str, timeout: float = 120):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()

    def _check(self, resp: requests.Response) -> requests.Response:
        if resp.status_code >= 400:
            raise OperatorError(problem_of(resp))
        return resp

    def request(self, method: str, path: str, **kw: Any) -> requests.Response:
        try:
            return self._check(self.session.request(method, self.url + path, timeout=self.timeout, **kw))
        except requests.RequestException as exc:
            raise OperatorError({"title": "operator unreachable", "detail": unreachable(self.url, exc)}) from None

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: dict[str, Any], **kw: Any) -> dict[str, Any]:
        return _json_object(self.request("POST", path, json=body, **kw))

    def delete(self, path: str) -> dict[str, Any]:
        return _json_object(self.request("DELETE", path))

    def info(self) -> dict[str, Any]:
        return _json_object(self.get("/ledger/info"))


def _json_object(resp: requests.Response) -> dict[str, Any]:
    """The JSON object an operator answered with (OperatorError if it sent something else)."""
    body = resp.json()
    if not isinstance(body, dict):
        raise OperatorError({"title": "unexpected answer", "detail": f"{resp.request.method} {resp.url} did not answer a JSON object"})
    return body


def _sign_grant(wallet: Wallet, rec: dict[str, Any], info: dict[str, Any]) -> tuple[bytes, dict[str, Any], str]:
    """Salt and commit to a record, sign its EIP-712 Grant with the per-consent key, and keep
    record and salt in the wallet before anything is sent. Returns (salt, grant, signer)."""
    salt = record.new_salt()
    cid = bytes.fromhex(rec["record_id"][2:])
    commitment = record.commitment(rec, salt)
    expires_at = record.expires_at_unix(rec)
    account = wallet.keys.consent_account(cid)
    message = eip712.grant_message(cid, commitment, expires_at)
    sig = eip712.sign(account, "Grant", message, info["chain_id"], info["contract"])
    wallet.remember(rec["record_id"], rec, salt)  # the salt must never be lost
    grant = {"consent_id": rec["record_id"], "commitment": "0x" + commitment.hex(), "expires_at": expires_at, "signature": "0x" + sig.hex()}
    grant["authorization"] = consent_binding.authorize(
        wallet.keys.citizen_id(), wallet.keys.request_seed(), rec["record_id"], account.address, grant["commitment"], rec["controller"]["id"]
    )
    return salt, grant, account.address


def grant(wallet: Wallet, operator: OperatorClient, rec: dict[str, Any]) -> dict[str, Any]:
    """Sign and submit a consent record; store record, salt and receipt in the wallet."""
    info = operator.info()
    salt, grant_body, signer = _sign_grant(wallet, rec, info)
    outcome = operator.post("/ledger/grants", {"grants": [grant_body]})
    evidence = operator.get(f"/ledger/consents/{rec['record_id']}/evidence").json()
    chain = {"chain_id": info["chain_id"], "contract": info["contract"], "tx": outcome["tx"], "block": outcome["block"]}
    rcpt = receipt.build(rec, salt, {**grant_body, "signer": signer}, chain, evidence)
    wallet.remember(rec["record_id"], rec, salt, rcpt)
    return rcpt


def signed_operator(wallet: Wallet, url: str) -> OperatorClient:
    """An operator client whose requests the citizen signs (key id `citizen:<hex key>`)."""
    client = OperatorClient(url)
    client.session.auth = RequestSigner(wallet.keys.citizen_id(), wallet.keys.request_seed())
    return client


def pending_requests(wallet: Wallet, operator: OperatorClient) -> list[dict[str, Any]]:
    requests_: list[dict[str, Any]] = operator.get(f"/v1/citizens/{wallet.keys.citizen_id()}/consent-requests").json()
    return requests_


def approval(wallet: Wallet, info: dict[str, Any], request: dict[str, Any], permissions: list[dict[str, Any]] | None = None) -> tuple[dict[str, Any], bytes, dict[str, Any]]:
    """The record, salt and approval body for a consent request, for all or some of its
    permissions: build the record, commit to it, sign the grant (record and salt are kept
    in the wallet before anything is sent)."""
    service = request["service"]
    shown = request.get("agreement")
    if shown:  # pin the agreement the citizen was shown, after checking it is the one named
        agreement.check_pinned(shown["agreement"], {"version": shown["version"], "sha256": shown["sha256"]})
    rec = record.new_record(
        subject=wallet.keys.pseudonym(service["id"]),
        controller_id=service["id"],
        controller_name=service["name"],
        purposes=request["purposes"],
        data_areas=permissions or request["permissions"],
        notice_url=request["notice_url"],
        notice_text=b"",
        duration=timedelta(days=request["duration_days"]),
        agreement=agreement.pin(shown["agreement"]) if shown else None,
    )
    rec["notice"]["sha256"] = request["notice_sha256"]
    salt, grant_body, _ = _sign_grant(wallet, rec, info)
    body = {
        "record": rec,
        "salt": salt.hex(),
        "grant": grant_body,
        "citizen_enc_key": bytes(wallet.keys.encryption_key().public_key).hex(),
    }
    return rec, salt, body


def approve(wallet: Wallet, operator: OperatorClient, request: dict[str, Any], permissions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Approve a consent request; the operator relays the signed grant. Returns the receipt."""
    rec, salt, body = approval(wallet, operator.info(), request, permissions)
    out = operator.post(f"/v1/consent-requests/{request['id']}/approve", body)
    receipt_: dict[str, Any] = out["receipt"]
    wallet.remember(rec["record_id"], rec, salt, receipt_)
    return receipt_


def refuse(operator: OperatorClient, request: dict[str, Any]) -> dict[str, Any]:
    return operator.post(f"/v1/consent-requests/{request['id']}/refuse", {})


def revoke_via_operator(wallet: Wallet, operator: OperatorClient, consent_id: str) -> dict[str, Any]:
    info = operator.info()
    signed = signed_revocation(wallet, info["chain_id"], info["contract"], consent_id)
    return operator.post("/ledger/revocations", {"consent_id": consent_id, "signature": signed["signature"]})


def signed_revocation(wallet: Wallet, chain_id: int, contract: str, consent_id: str) -> dict[str, Any]:
    """The consent key's EIP-712 revocation of `consent_id`: anyone may submit it
    (ConsentRegistry.revokeBySig, or any operator's /ledger/revocations) and pay its gas."""
    cid = bytes.fromhex(consent_id[2:])
    sig = eip712.sign(wallet.keys.consent_account(cid), "Revoke", eip712.revoke_message(cid), chain_id, contract)
    return {"consent_id": consent_id, "signature": "0x" + sig.hex(), "chain_id": chain_id, "contract": contract}


def revoke_on_chain(wallet: Wallet, registry: Registry, consent_id: str, gas_payer: LocalAccount | None = None) -> dict[str, Any]:
    """Revoke without the operator. `gas_payer` submits the consent key's signed revocation;
    without one, on a development chain only, the consent key sends it itself, funded by the
    node's development account (on a real chain that account is no one's to spend)."""
    cid = bytes.fromhex(consent_id[2:])
    if gas_payer is not None:
        signed = signed_revocation(wallet, registry.chain_id, registry.address, consent_id)
        return registry.revoke_by_sig(cid, bytes.fromhex(signed["signature"][2:]), gas_payer)
    if not is_development_chain(registry.chain_id):
        raise ChainError(f"chain {registry.chain_id} is not a development chain: give a key that pays the gas, or have a relayer submit the signed revocation")
    account = wallet.keys.consent_account(cid)
    registry.client.fund_from_dev_account(account.address, minimum=10**16)
    return registry.revoke(cid, account)
