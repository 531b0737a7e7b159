"""The data path's writes: services write CV areas through the operator, with consent.

Each route authorises through data_access (signed request, consent decision, denials
logged). Releases (GET of an area) are served ahead of Flask by release_route.
"""

from __future__ import annotations

import base64
import hashlib

from flask import Blueprint, jsonify, request

from httpkit.json_bodies import json_body
from httpkit.problems import Problem
from ledger import events

from ..access import release
from ..access.data_access import authorise
from ..access.pds_client import PdsError
from . import schemas
from .http_util import runtime

bp = Blueprint("data", __name__, url_prefix="/v1/citizens/<citizen>/areas/<area>")


@bp.get("/versions/next")
def next_version(citizen: str, area: str):
    """What a writer needs to seal the next version: its number, a fresh key version, and
    the citizen's published X25519 key to wrap the new data key for."""
    rt = runtime()
    authorise(rt, request, citizen, area, "write")
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
    access = authorise(rt, request, citizen, area, "write")
    service, d = access.service, access.decision
    cid = d.consent.consent_id
    body = json_body(schemas.VERSION_WRITE)
    wrapped = body.get("wrapped")
    try:
        stored = rt.pds.add_version(citizen, area, {k: body.get(k) for k in ("version", "key_version", "envelope")})
        if isinstance(wrapped, dict) and wrapped:
            rt.pds.put_keys(citizen, area, body["key_version"], wrapped)
    except PdsError as exc:
        raise Problem(exc.status, exc.problem.get("type", "pds-error").rsplit("/", 1)[-1], "The PDS refused the write", str(exc)) from None
    finally:
        rt.release_cache.invalidate(citizen, area)
    digest = hashlib.sha256(base64.b64decode(body["envelope"]["ciphertext"])).hexdigest()  # the PDS checked it decodes
    release.log_access(rt, events.DATA_WRITTEN, service, citizen, area, "written", d.block, cid, version=stored["version"], ciphertext_sha256=digest)
    return jsonify({"consent_id": cid, "version": stored["version"], "checked_block": d.block}), 201
