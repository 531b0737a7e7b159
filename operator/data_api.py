"""The data path: services read and write CV areas through the operator, with consent.

Every request is signed by the service; the operator decides from its consent index,
fetches or stores the encrypted envelope in the PDS, hands the reader the data key
wrapped for it, and logs every release, write and denial — refused signatures included.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from ledger import events
from ledger.keys import CITIZEN_KEY_ID
from ledger.problems import Problem, bad_request
from ledger.record import AREA_NAME
from ledger.request_auth import claimed_key_id

from . import release
from .auth import SERVICE, require_service
from .http_util import runtime
from .pds_client import PdsError

bp = Blueprint("data", __name__, url_prefix="/v1/citizens/<citizen>/areas/<area>")


def _deny(service: str, citizen: str | None, area: str, reason: str, block: int, consent_id: str | None = None, status: int = 403, detail: str = ""):
    release.log_access(runtime(), events.DATA_DENIED, service, citizen, area, "denied", block, consent_id, reason=reason)
    return Problem(status, reason, "Access denied", detail or reason, consent_id=consent_id)


def _authorised(citizen: str, area: str, access: str):
    """Authenticate the service and decide; every refusal is logged before it is returned."""
    rt = runtime()
    if not CITIZEN_KEY_ID.match(citizen) or not AREA_NAME.match(area):
        raise Problem(404, "not-found", "No such citizen or area")
    try:
        service = require_service()
    except Problem as exc:
        m = SERVICE.match(claimed_key_id(request.headers) or "")
        raise _deny(m.group(1) if m else "unauthenticated", citizen, area, exc.slug, rt.follower.last_block, status=exc.status, detail=exc.detail) from None
    decision = release.decide(rt, service, citizen, area, access)
    if not decision.allowed:
        cid = decision.consent.consent_id if decision.consent else None
        raise _deny(service, citizen, area, decision.reason, decision.block, cid)
    if rt.pds is None:
        raise Problem(503, "no-pds", "This operator has no PDS configured")
    return service, decision


@bp.get("")
def read(citizen: str, area: str):
    rt = runtime()
    service, d = _authorised(citizen, area, "read")
    cid = d.consent.consent_id
    try:
        recipient = f"service:{service}"
        latest = rt.release_cache.get(citizen, area, recipient, lambda: rt.pds.release(citizen, area, recipient))
    except PdsError as exc:
        raise _deny(service, citizen, area, "no-data" if exc.status == 404 else "pds-error", d.block, cid, 404 if exc.status == 404 else 502, str(exc)) from None
    release.log_access(rt, events.DATA_READ, service, citizen, area, "released", d.block, cid, version=latest["version"])
    return jsonify(
        {"consent_id": cid, "version": latest["version"], "key_version": latest["key_version"], "envelope": latest["envelope"], "wrapped_key": latest["wrapped_key"], "checked_block": d.block}
    )


@bp.get("/versions/next")
def next_version(citizen: str, area: str):
    """What a writer needs to seal the next version: its number, a fresh key version, and
    the citizen's published X25519 key to wrap the new data key for."""
    rt = runtime()
    _authorised(citizen, area, "write")
    try:
        history = rt.pds.history(citizen, area)
    except PdsError as exc:
        raise Problem(502, "pds-error", "The PDS did not answer", str(exc)) from None
    enc = rt.directory.citizen_key(citizen)
    if enc is None:
        raise Problem(409, "no-citizen-key", "The citizen has published no encryption key")
    return jsonify(
        {
            "version": max((v["version"] for v in history), default=0) + 1,
            "key_version": max((v["key_version"] for v in history), default=0) + 1,
            "citizen_enc_key": enc.hex(),
        }
    )


@bp.post("/versions")
def write(citizen: str, area: str):
    rt = runtime()
    service, d = _authorised(citizen, area, "write")
    cid = d.consent.consent_id
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("envelope"), dict):
        raise bad_request("body must be {version, key_version, envelope, wrapped}", field="envelope")
    wrapped = body.get("wrapped")
    try:
        stored = rt.pds.add_version(citizen, area, {k: body.get(k) for k in ("version", "key_version", "envelope")})
        if isinstance(wrapped, dict) and wrapped:
            rt.pds.put_keys(citizen, area, body["key_version"], wrapped)
    except PdsError as exc:
        raise Problem(exc.status, exc.problem.get("type", "pds-error").rsplit("/", 1)[-1], "The PDS refused the write", str(exc)) from None
    finally:
        rt.release_cache.invalidate(citizen, area)
    release.log_access(rt, events.DATA_WRITTEN, service, citizen, area, "written", d.block, cid, version=stored["version"])
    return jsonify({"consent_id": cid, "version": stored["version"], "checked_block": d.block}), 201
