"""Who is calling: every service and citizen request to the operator is RFC 9421-signed.

Services sign as `service:<id>` with the key they registered; citizens sign as
`citizen:<hex Ed25519 public key>` (self-certifying, the same id as in the PDS).
"""

from __future__ import annotations

import re

from flask import current_app, g, request

from ledger.keys import CITIZEN_KEY_ID, citizen_public_key
from ledger.problems import Problem
from ledger.request_auth import RequestAuthError, Signed

SERVICE = re.compile(r"^service:([A-Za-z0-9][A-Za-z0-9._-]{0,63})$")


def public_key_for(directory, key_id: str) -> bytes | None:
    citizen = citizen_public_key(key_id)
    if citizen is not None:
        return citizen
    m = SERVICE.match(key_id)
    service = directory.service(m.group(1)) if m else None
    return service.sign_key if service else None


def _refused(exc: RequestAuthError) -> Problem:
    return Problem(401, exc.slug, "Request refused", str(exc))


def authenticate_request(rt, req, lookup=None) -> str:
    """Verify a Werkzeug request and return its key id (`lookup` overrides key resolution)."""
    verifier = rt.request_verifier
    try:
        return verifier.verify_with(lookup, req) if lookup else verifier.verify_request(req)
    except RequestAuthError as exc:
        raise _refused(exc) from None


def check_request(rt, req) -> Signed:
    """Verify a Werkzeug request's signature and freshness; its nonce is left for the caller
    to claim (see RequestVerifier.check)."""
    try:
        return rt.request_verifier.check_request(req)
    except RequestAuthError as exc:
        raise _refused(exc) from None


def service_of(key_id: str) -> str:
    """The service id of a verified key id; any other caller is refused."""
    m = SERVICE.match(key_id)
    if not m:
        raise Problem(403, "forbidden", "Only services may do this", f"{key_id} is not a service")
    return m.group(1)


def authenticate(lookup=None) -> str:
    """Verify the current Flask request and return its key id."""
    g.caller = authenticate_request(current_app.extensions["operator"], request, lookup)
    return g.caller


def require_service() -> str:
    return service_of(authenticate())


def require_citizen() -> str:
    if not CITIZEN_KEY_ID.match(authenticate()):
        raise Problem(403, "forbidden", "Only citizens may do this", f"{g.caller} is not a citizen")
    return g.caller
