"""Services and consent requests: register, ask, and let the citizen approve per permission or refuse.

Approval carries the citizen's record, salt and EIP-712-signed grant. The operator checks
that the record grants no more than the service asked for, that it commits to exactly
that record, then relays the grant, indexes the consent for the release path and keeps
the receipt for the service. Refusals are logged too.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, g, jsonify

from httpkit.json_bodies import json_body
from httpkit.problems import Problem, bad_request
from ledger import agreement, events, receipt, record
from storage.directory import IndexedConsent, Service

from ..access.approval import check_approval, refused_permissions
from ..access.auth import authenticate, require_citizen, require_service
from . import schemas
from .http_util import runtime
from .ledger_api import receipt_evidence, relay

bp = Blueprint("consent", __name__, url_prefix="/v1")

# ---- services -------------------------------------------------------------------
@bp.post("/services")
def register_service():
    body = json_body(schemas.SERVICE_REGISTRATION)
    sid = body["id"]
    sign_key, enc_key = bytes.fromhex(body["sign_key"]), bytes.fromhex(body["enc_key"])
    directory = runtime().directory
    existing = directory.service(sid)
    # A new id proves possession of the key it registers; re-registering needs the old key.
    authenticate(lambda kid: (existing.sign_key if existing else sign_key) if kid == f"service:{sid}" else None)
    directory.register(Service(sid, body["name"], body["description"], body["callback_url"], sign_key, enc_key))
    runtime().service_keys.forget(sid)  # the old key stops here at once (elsewhere within KEY_SECONDS)
    directory.set_notify_url(sid, body.get("notify_url"))
    return jsonify({"id": sid}), 200 if existing else 201


@bp.get("/services/<sid>")
def service_info(sid: str):
    s = runtime().directory.service(sid)
    if s is None:
        raise Problem(404, "unknown-service", "No such service", sid)
    return jsonify({"id": s.id, "name": s.name, "description": s.description, "callback_url": s.callback_url, "sign_key": s.sign_key.hex(), "enc_key": s.enc_key.hex()})


# ---- data agreements (ledger/agreement.py) ------------------------------------------
@bp.post("/services/<sid>/agreements")
def publish_agreement(sid: str):
    """Publish the caller's data agreement: the next version, or the latest if nothing
    changed; `widens` says what the new version lets the service do that the last did not."""
    if require_service() != sid:
        raise Problem(403, "forbidden", "Only a service publishes its own agreement", sid)
    terms = {"type": agreement.AGREEMENT_TYPE, "service": sid, "lawful_basis": "dpv:Consent", **json_body(schemas.AGREEMENT_TERMS)}
    agreement.validate({**terms, "version": 1})
    directory = runtime().directory
    previous = directory.agreements_of(sid)[-1:]
    doc, new = directory.publish_agreement(sid, terms, agreement.same_terms)
    widens = agreement.widening(previous[0], doc) if previous and new else []
    return jsonify({**_agreement_view(doc), "widens": widens}), 201 if new else 200


@bp.get("/services/<sid>/agreements")
def agreements(sid: str):
    return jsonify([_agreement_view(doc) for doc in runtime().directory.agreements_of(sid)])


@bp.get("/services/<sid>/agreements/<int:version>")
def agreement_version(sid: str, version: int):
    doc = runtime().directory.agreement(sid, version)
    if doc is None:
        raise Problem(404, "unknown-agreement", "No such agreement version", f"{sid} version {version}")
    return jsonify(_agreement_view(doc))


def _agreement_view(doc: dict) -> dict:
    return {"version": doc["version"], "sha256": agreement.digest(doc), "agreement": doc}


# ---- consent requests -----------------------------------------------------------
@bp.post("/consent-requests")
def create_request():
    """A service asks a citizen; naming an agreement version, it may ask for no more than that version says."""
    sid = require_service()
    body = json_body(schemas.CONSENT_REQUEST)
    version = body.get("agreement_version")
    if version is not None:
        doc = runtime().directory.agreement(sid, version)
        if doc is None:
            raise bad_request(f"{sid} has no agreement version {version}", field="agreement_version")
        beyond = agreement.covers(doc, body["purposes"], body["permissions"])
        if beyond:
            raise bad_request(f"the request goes beyond the agreement: {beyond}", field="permissions")
    rid = runtime().directory.add_request(
        sid, body["citizen"], body["purposes"], body["permissions"], body["duration_days"], body["notice_url"], body["notice_sha256"], version
    )
    return jsonify({"id": rid, "status": "pending"}), 201


def _agreement_of(req: dict) -> dict | None:
    """The agreement version a request names, as the citizen is shown it (None: none)."""
    version = runtime().directory.request_agreement(req["id"])
    doc = runtime().directory.agreement(req["service_id"], version) if version is not None else None
    return _agreement_view(doc) if doc else None


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


@bp.delete("/consent-requests/<rid>/receipt")
def receipt_taken(rid: str):
    """The service stored the receipt: the operator drops its own copy (it keeps what
    releases and the Art 15 report need, not the whole receipt)."""
    req = _request_for_caller(rid)
    if g.caller != f"service:{req['service_id']}":
        raise Problem(403, "forbidden", "Only the service that asked takes the receipt", rid)
    runtime().directory.receipt_taken(rid)
    return "", 204


def _public(req: dict) -> dict:
    """A request as its service and citizen see it: with the receipt until the service took
    it, and what the consent grants (from the index) once approved."""
    directory = runtime().directory
    service = directory.service(req["service_id"])
    consent = directory.consent(req["consent_id"]) if req["consent_id"] else None
    return {
        **{k: req[k] for k in ("id", "citizen", "purposes", "permissions", "duration_days", "notice_url", "notice_sha256", "status", "consent_id", "receipt")},
        "granted": consent.permissions if consent else None,
        "service": {"id": service.id, "name": service.name, "description": service.description},
        "agreement": _agreement_of(req),
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
    json_body(schemas.REFUSAL)  # anything but {} is refused before the request is decided
    rt = runtime()
    if not rt.directory.decide(rid, "refused"):
        raise Problem(409, "request-decided", "This request was already decided")
    _log_refusal(rid, req["service_id"], req["permissions"])
    return jsonify({"id": rid, "status": "refused"})


def _log_refusal(rid: str, service_id: str, permissions: list[dict]) -> None:
    """Log that the citizen refused `permissions` of request `rid` (all of them, or the
    ones left out when approving the rest)."""
    entry = {"type": events.CONSENT_REFUSED, "request": rid, "service": service_id, "permissions": permissions, "time": record.format_time(datetime.now(UTC))}
    runtime().log.append([events.encode(entry)], keys=[["request:" + rid]])


@bp.post("/consent-requests/<rid>/approve")
def approve(rid: str):
    req = _pending_of_caller(rid)
    rt = runtime()
    ok = check_approval({**req, "agreement": _agreement_of(req)}, json_body(schemas.APPROVAL), rt.deployment.chain_id, rt.deployment.address)
    cid = ok.record["record_id"]
    tx = relay(lambda: rt.registry.grant(ok.grant))
    dep = rt.deployment
    chain = {"chain_id": dep.chain_id, "contract": dep.address, "tx": "0x" + bytes(tx["transactionHash"]).hex(), "block": tx["blockNumber"]}
    signer = rt.registry.consent(ok.grant.consent_id).signer
    rcpt = receipt.build(ok.record, ok.salt, {**ok.grant_doc, "signer": signer}, chain, receipt_evidence(rt, cid))
    indexed = IndexedConsent(cid, req["service_id"], req["citizen"], ok.record["data_areas"], ok.grant.expires_at)
    narrowed = ok.record["purposes"] if ok.record["purposes"] != req["purposes"] else None  # None: as asked (kept once, in the request)
    if not rt.directory.decide(rid, "approved", indexed, rcpt, narrowed):
        raise Problem(409, "request-decided", "This request was already decided")
    rt.directory.set_citizen_key(req["citizen"], ok.citizen_enc_key)  # writers wrap data keys for it
    refused = refused_permissions(req["permissions"], ok.record["data_areas"])
    if refused:
        _log_refusal(rid, req["service_id"], refused)
    return jsonify({"id": rid, "status": "approved", "consent_id": cid, "receipt": rcpt}), 201

