"""Services and consent requests: register, ask, and let the citizen approve per permission or refuse.

Approval carries the citizen's record, salt and EIP-712-signed grant. The operator checks
that the record grants no more than the service asked for, that it commits to exactly
that record, then relays the grant, indexes the consent for the release path and keeps
the receipt for the service. Refusals are logged too.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask import Blueprint, g, jsonify

from ledger import events, receipt, record
from ledger.keys import CITIZEN_KEY_ID
from ledger.problems import Problem, bad_request
from ledger.record import AREA_NAME
from ledger.registry import SignedGrant

from .auth import authenticate, require_citizen, require_service
from .directory import IndexedConsent, Service
from .http_util import json_body, runtime
from .ledger_api import SIGNATURE, receipt_evidence, relay

bp = Blueprint("consent", __name__, url_prefix="/v1")

_HEX32 = re.compile(r"^[0-9a-f]{64}$")
_URL = re.compile(r"^https?://\S+$")
MAX_DAYS = 3650


def _text(body: dict, name: str, pattern: re.Pattern | None = None, max_len: int = 500) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value or len(value) > max_len or (pattern and not pattern.match(value)):
        raise bad_request(f"{name} is missing or malformed", field=name)
    return value


def _permissions(value, field: str = "permissions") -> list[dict]:
    ok = (
        isinstance(value, list)
        and value
        and all(
            isinstance(p, dict) and set(p) == {"area", "access"} and p["access"] in ("read", "write")
            and isinstance(p["area"], str) and AREA_NAME.match(p["area"])
            for p in value
        )
    )
    if not ok:
        raise bad_request(f"{field} must be a list of {{area, access: read|write}}", field=field)
    return value


# ---- services -------------------------------------------------------------------
@bp.post("/services")
def register_service():
    body = json_body()
    sid = _text(body, "id", re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"), 64)
    sign_key, enc_key = (bytes.fromhex(_text(body, k, _HEX32)) for k in ("sign_key", "enc_key"))
    directory = runtime().directory
    existing = directory.service(sid)
    # A new id proves possession of the key it registers; re-registering needs the old key.
    authenticate(lambda kid: (existing.sign_key if existing else sign_key) if kid == f"service:{sid}" else None)
    directory.register(Service(sid, _text(body, "name", max_len=200), _text(body, "description"), _text(body, "callback_url", _URL), sign_key, enc_key))
    return jsonify({"id": sid}), 200 if existing else 201


@bp.get("/services/<sid>")
def service_info(sid: str):
    s = runtime().directory.service(sid)
    if s is None:
        raise Problem(404, "unknown-service", "No such service", sid)
    return jsonify({"id": s.id, "name": s.name, "description": s.description, "callback_url": s.callback_url, "sign_key": s.sign_key.hex(), "enc_key": s.enc_key.hex()})


# ---- consent requests -----------------------------------------------------------
@bp.post("/consent-requests")
def create_request():
    sid = require_service()
    body = json_body()
    citizen = _text(body, "citizen", CITIZEN_KEY_ID, 80)
    purposes = body.get("purposes")
    if not isinstance(purposes, list) or not purposes or not all(isinstance(p, str) and 0 < len(p) <= 500 for p in purposes):
        raise bad_request("purposes must be a non-empty list of strings", field="purposes")
    days = body.get("duration_days")
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_DAYS:
        raise bad_request(f"duration_days must be 1 to {MAX_DAYS}", field="duration_days")
    rid = runtime().directory.add_request(
        sid, citizen, purposes, _permissions(body.get("permissions")), days, _text(body, "notice_url", _URL), _text(body, "notice_sha256", _HEX32)
    )
    return jsonify({"id": rid, "status": "pending"}), 201


def _request_for_caller(rid: str) -> dict:
    req = runtime().directory.request(rid)
    caller = authenticate()
    if req is None:
        raise Problem(404, "unknown-request", "No such consent request", rid)
    if caller not in (req["citizen"], f"service:{req['service_id']}"):
        raise Problem(403, "forbidden", "Not your consent request", rid)
    return req


@bp.get("/consent-requests/<rid>")
def get_request(rid: str):
    return jsonify(_public(_request_for_caller(rid)))


def _public(req: dict) -> dict:
    service = runtime().directory.service(req["service_id"])
    return {
        **{k: req[k] for k in ("id", "citizen", "purposes", "permissions", "duration_days", "notice_url", "notice_sha256", "status", "consent_id", "receipt")},
        "service": {"id": service.id, "name": service.name, "description": service.description},
    }


@bp.get("/citizens/<citizen>/consent-requests")
def pending(citizen: str):
    if require_citizen() != citizen:
        raise Problem(403, "forbidden", "Not your consent requests", citizen)
    return jsonify([_public(r) for r in runtime().directory.requests_of(citizen, "pending")])


def _pending_of_caller(rid: str) -> dict:
    require_citizen()
    req = runtime().directory.request(rid)
    if req is None:
        raise Problem(404, "unknown-request", "No such consent request", rid)
    if req["citizen"] != g.caller:
        raise Problem(403, "forbidden", "Not your consent request", rid)
    if req["status"] != "pending":
        raise Problem(409, "request-decided", "This request was already decided", req["status"])
    return req


@bp.post("/consent-requests/<rid>/refuse")
def refuse(rid: str):
    req = _pending_of_caller(rid)
    if json_body():  # anything but {} is refused before the request is decided
        raise bad_request("a refusal takes an empty JSON object {}")
    rt = runtime()
    if not rt.directory.decide(rid, "refused"):
        raise Problem(409, "request-decided", "This request was already decided")
    now = record.format_time(datetime.now(UTC))
    rt.log.append([events.encode({"type": events.CONSENT_REFUSED, "request": rid, "service": req["service_id"], "time": now})], keys=[["request:" + rid]])
    return jsonify({"id": rid, "status": "refused"})


@bp.post("/consent-requests/<rid>/approve")
def approve(rid: str):
    req = _pending_of_caller(rid)
    body = json_body()
    rec, grant = body.get("record"), body.get("grant")
    salt_hex = _text(body, "salt", _HEX32)
    citizen_enc_key = bytes.fromhex(_text(body, "citizen_enc_key", _HEX32))
    if not isinstance(grant, dict) or not isinstance(rec, dict):
        raise bad_request("record and grant are required", field="grant")
    try:
        record.validate(rec)
    except record.RecordError as exc:
        raise bad_request(str(exc), field="record." + exc.field) from None
    _check_scope(req, rec)
    cid = rec["record_id"]
    commitment = record.commitment(rec, bytes.fromhex(salt_hex))
    if grant.get("consent_id") != cid or grant.get("commitment") != "0x" + commitment.hex():
        raise bad_request("the grant does not commit to this record and salt", field="grant.commitment")
    if grant.get("expires_at") != record.expires_at_unix(rec):
        raise bad_request("the grant's expiry differs from the record's", field="grant.expires_at")
    if not isinstance(grant.get("signature"), str) or not SIGNATURE.match(grant["signature"]):
        raise bad_request("grant.signature must be a 65-byte hex signature", field="grant.signature")
    rt = runtime()
    signed = SignedGrant(bytes.fromhex(cid[2:]), commitment, grant["expires_at"], bytes.fromhex(grant["signature"][2:]))
    tx = relay(lambda: rt.registry.grant(signed))
    dep = rt.deployment
    chain = {"chain_id": dep.chain_id, "contract": dep.address, "tx": "0x" + bytes(tx["transactionHash"]).hex(), "block": tx["blockNumber"]}
    signer = rt.registry.consent(signed.consent_id).signer
    rcpt = receipt.build(rec, bytes.fromhex(salt_hex), {**grant, "signer": signer}, chain, receipt_evidence(rt, cid))
    indexed = IndexedConsent(cid, req["service_id"], req["citizen"], rec["data_areas"], grant["expires_at"])
    if not rt.directory.decide(rid, "approved", indexed, rcpt):
        raise Problem(409, "request-decided", "This request was already decided")
    rt.directory.set_citizen_key(req["citizen"], citizen_enc_key)  # writers wrap data keys for it
    return jsonify({"id": rid, "status": "approved", "consent_id": cid, "receipt": rcpt}), 201


def _check_scope(req: dict, rec: dict) -> None:
    """The record may grant at most what the service asked for, to that service, for that long."""
    if rec["controller"]["id"] != req["service_id"]:
        raise bad_request("the record names another controller", field="record.controller.id")
    extra = [p for p in rec["data_areas"] if p not in req["permissions"]]
    if extra:
        raise bad_request(f"the record grants {extra[0]['area']}:{extra[0]['access']}, which was not requested", field="record.data_areas")
    if not set(rec["purposes"]) <= set(req["purposes"]):
        raise bad_request("the record names purposes that were not requested", field="record.purposes")
    if rec["notice"]["sha256"] != req["notice_sha256"]:
        raise bad_request("the record cites another notice", field="record.notice.sha256")
    span = record.parse_time(rec["expires_at"]) - record.parse_time(rec["granted_at"])
    if span.total_seconds() > req["duration_days"] * 86400:
        raise bad_request("the record lasts longer than requested", field="record.expires_at")

