"""The PDS HTTP service: its own Flask app and port, its own storage.

Only two kinds of caller exist: citizens, who sign with a self-certifying key id
(`citizen:<hex Ed25519 public key>`) and reach only their own space, and the operator
(key id `operator`), which reads and writes on behalf of services after checking
their consent. Every request is signed (RFC 9421) and accepted once.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, current_app, g, jsonify, request

from httpkit import problems
from httpkit.http_limits import AREA_MAX_BODY, BodyLimits
from httpkit.json_bodies import json_body
from httpkit.problems import Problem, bad_request
from ledger.data_shapes import MAX_VERSION
from ledger.keys import CITIZEN_KEY_ID, citizen_public_key
from ledger.record import AREA_NAME
from ledger.request_auth import RequestAuthError, RequestVerifier
from storage.backends import open_backend

from . import bodies
from .envelope import EnvelopeError, writer_of
from .openapi import OPENAPI
from .store import PdsStore, StoreError

OPERATOR = "operator"

bp = Blueprint("pds", __name__, url_prefix="/pds/v1")


def _store() -> PdsStore:
    return current_app.extensions["pds"]


@bp.before_request
def authenticate():
    try:
        g.caller = current_app.extensions["pds.verifier"].verify_request(request)
    except RequestAuthError as exc:
        raise Problem(401, exc.slug, "Request refused", str(exc)) from None


def _space(citizen: str, citizen_only: bool = False) -> str:
    """Check the caller may act on `citizen`'s space."""
    if not CITIZEN_KEY_ID.match(citizen):
        raise Problem(404, "not-found", "No such citizen", citizen)
    if g.caller == citizen or (g.caller == OPERATOR and not citizen_only):
        return citizen
    raise Problem(403, "forbidden", "Not your data", f"{g.caller} may not act on {citizen}")


def _area(area: str) -> str:
    if not AREA_NAME.match(area):
        raise bad_request(f"invalid area name {area!r}", field="area")
    return area


STORE_STATUS = {"not-found": 404, "not-shared": 404, "version-conflict": 409, "blob-corrupt": 500}


def _stored(fn):
    try:
        return fn()
    except StoreError as exc:
        raise Problem(STORE_STATUS[exc.slug], exc.slug, "Store refused", str(exc)) from None


@bp.get("/citizens/<citizen>/areas")
def areas(citizen):
    return jsonify(_store().areas(_space(citizen)))


@bp.get("/citizens/<citizen>/areas/<area>/versions")
def history(citizen, area):
    return jsonify(_store().history(_space(citizen), _area(area)))


@bp.get("/citizens/<citizen>/areas/<area>/versions/latest")
def latest(citizen, area):
    return jsonify(_stored(lambda: _store().version(_space(citizen), _area(area))))


@bp.get("/citizens/<citizen>/areas/<area>/releases/<recipient>")
def release(citizen, area, recipient):
    """The latest version together with its data key wrapped for `recipient`, in one call."""
    citizen, area = _space(citizen), _area(area)

    def both():
        latest = _store().version(citizen, area)
        return {**latest, "wrapped_key": _store().wrapped_key(citizen, area, latest["key_version"], recipient)}

    return jsonify(_stored(both))


@bp.get(f"/citizens/<citizen>/areas/<area>/versions/<int(max={MAX_VERSION}):version>")
def one_version(citizen, area, version):
    return jsonify(_stored(lambda: _store().version(_space(citizen), _area(area), version)))


@bp.post("/citizens/<citizen>/areas/<area>/versions")
def add_version(citizen, area):
    citizen, area = _space(citizen), _area(area)
    body = json_body(bodies.VERSION)
    env, version, key_version = body["envelope"], body["version"], body["key_version"]
    if env.get("area") != area or env.get("version") != version:
        raise bad_request("the envelope is sealed for another area or version", field="envelope")
    try:
        writer = writer_of(env).hex()
    except EnvelopeError as exc:
        raise bad_request(str(exc), field="envelope.signature") from None
    _stored(lambda: _store().add_version(citizen, area, version, key_version, env, writer, g.caller))
    return jsonify({"version": version, "writer": writer}), 201


@bp.put(f"/citizens/<citizen>/areas/<area>/keys/<int(max={MAX_VERSION}):key_version>")
def put_keys(citizen, area, key_version):
    citizen, area = _space(citizen), _area(area)
    wrapped = json_body(bodies.WRAPPED_KEYS)["wrapped"]
    _store().put_keys(citizen, area, key_version, wrapped)
    return jsonify({"key_version": key_version, "recipients": sorted(wrapped)}), 201


@bp.get(f"/citizens/<citizen>/areas/<area>/keys/<int(max={MAX_VERSION}):key_version>/<recipient>")
def get_key(citizen, area, key_version, recipient):
    citizen, area = _space(citizen), _area(area)
    return jsonify({"wrapped": _stored(lambda: _store().wrapped_key(citizen, area, key_version, recipient))})


@bp.delete("/citizens/<citizen>")
def erase(citizen):
    _store().erase(_space(citizen, citizen_only=True))
    current_app.extensions["pds.verifier"].nonces.forget(citizen)
    return "", 204


def create_app(data_dir: str | Path, operator_key: bytes, database_url: str | None = None) -> Flask:
    """The PDS app; `operator_key` is the operator's Ed25519 request-signing public key;
    `database_url` names the database replicas share (storage.backends; default: SQLite
    files and blob files in `data_dir`)."""
    data_dir = Path(data_dir)
    app = Flask("pds")

    def public_key_for(key_id: str) -> bytes | None:
        if key_id == OPERATOR:
            return operator_key
        return citizen_public_key(key_id)

    backend = open_backend(database_url, data_dir)
    backend.check_schema()
    app.extensions["pds"] = PdsStore(backend.pds_tables(), backend.blobs())
    app.extensions["pds.verifier"] = RequestVerifier(public_key_for, backend.replay_store())
    problems.install(app)
    app.register_blueprint(bp)
    app.get("/openapi.json")(lambda: jsonify(OPENAPI))
    app.wsgi_app = BodyLimits(app.wsgi_app, routes=[(r"^/pds/v1/citizens/[^/]+/areas/[^/]+/versions$", AREA_MAX_BODY)])
    return app
