"""What a citizen's approval must prove before the operator relays its grant.

The record may grant at most what the service asked for (that service, those areas and
purposes, that notice, no longer than asked), and the grant must commit to exactly that
record and salt with the record's expiry. Each refusal names the field at fault (400).
The grant's EIP-712 signature is checked by the contract when the grant is relayed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from httpkit.problems import bad_request
from ledger import consent_binding, eip712, record
from ledger.registry import SignedGrant


@dataclass(frozen=True)
class Approval:
    """An approval that passed every check: the record, its salt and the grant to relay."""

    record: dict
    salt: bytes
    grant: SignedGrant
    grant_doc: dict  # the grant as the citizen sent it, for the receipt
    citizen_enc_key: bytes


def check_approval(request: dict[str, Any], body: dict[str, Any], chain_id: int, contract: str) -> Approval:
    """Check an approval body (already valid against schemas.APPROVAL) against the pending
    consent `request` it answers, on the registry at `contract` of chain `chain_id`."""
    rec, grant, salt = body["record"], body["grant"], bytes.fromhex(body["salt"])
    try:
        record.validate(rec)
    except record.RecordError as exc:
        raise bad_request(str(exc), field="record." + exc.field) from None
    check_scope(request, rec)
    commitment = record.commitment(rec, salt)
    if grant["consent_id"] != rec["record_id"] or grant["commitment"] != "0x" + commitment.hex():
        raise bad_request("the grant does not commit to this record and salt", field="grant.commitment")
    if grant["expires_at"] != record.expires_at_unix(rec):
        raise bad_request("the grant's expiry differs from the record's", field="grant.expires_at")
    signed = SignedGrant(bytes.fromhex(rec["record_id"][2:]), commitment, grant["expires_at"], bytes.fromhex(grant["signature"][2:]))
    check_authorization(signed, grant["authorization"], chain_id, contract, request["citizen"], request["service_id"], "grant")
    return Approval(rec, salt, signed, grant, bytes.fromhex(body["citizen_enc_key"]))


def check_authorization(
    grant: SignedGrant, authorization: dict[str, Any], chain_id: int, contract: str, citizen: str | None, service: str | None, where: str
) -> str:
    """The citizen who authorized the grant's per-consent key (the one that signed it); a
    grant no citizen authorized, or another citizen or service than expected, is refused
    (400 naming `<where>.authorization`): the operator relays and indexes no consent it
    could have made up."""
    try:
        signer = eip712.recover(grant.signature, "Grant", eip712.grant_message(grant.consent_id, grant.commitment, grant.expires_at), chain_id, contract)
    except eip712.SignatureError:
        raise bad_request("the grant's signature cannot be read", field=f"{where}.signature") from None
    try:
        return consent_binding.verify(authorization, "0x" + grant.consent_id.hex(), signer, "0x" + grant.commitment.hex(), citizen, service)
    except consent_binding.BindingError as exc:
        raise bad_request(str(exc), field=f"{where}.authorization") from None


def check_scope(request: dict, rec: dict) -> None:
    """The record may grant at most what the service asked for, to that service, for that
    long, and pins exactly the agreement version the request named (or none if it named none)."""
    if rec["controller"]["id"] != request["service_id"]:
        raise bad_request("the record names another controller", field="record.controller.id")
    named = request.get("agreement")
    if rec.get("agreement") != ({"version": named["version"], "sha256": named["sha256"]} if named else None):
        raise bad_request("the record pins another data agreement than the request names", field="record.agreement")
    extra = [p for p in rec["data_areas"] if p not in request["permissions"]]
    if extra:
        raise bad_request(f"the record grants {extra[0]['area']}:{extra[0]['access']}, which was not requested", field="record.data_areas")
    if not set(rec["purposes"]) <= set(request["purposes"]):
        raise bad_request("the record names purposes that were not requested", field="record.purposes")
    if rec["notice"]["sha256"] != request["notice_sha256"]:
        raise bad_request("the record cites another notice", field="record.notice.sha256")
    span = record.parse_time(rec["expires_at"]) - record.parse_time(rec["granted_at"])
    if span.total_seconds() > request["duration_days"] * 86400:
        raise bad_request("the record lasts longer than requested", field="record.expires_at")


def refused_permissions(asked: list[dict], granted: list[dict]) -> list[dict]:
    """What a request asked for that the consent does not grant: the citizen refused it."""
    return [p for p in asked if p not in granted]
