"""Who is calling: every service and citizen request to the operator is RFC 9421-signed.

Services sign as `service:<id>` with the key they registered; citizens sign as
`citizen:<hex Ed25519 public key>` (self-certifying, the same id as in the PDS).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from flask import current_app, g, request

from httpkit.problems import Problem
from ledger.keys import CITIZEN_KEY_ID, citizen_public_key
from ledger.request_auth import RequestAuthError, Signed

from ..metrics import RATE_LIMITED, REFUSED
from .service_keys import ServiceKeys

if TYPE_CHECKING:
    from ..runtime import OperatorRuntime

SERVICE = re.compile(r"^service:([A-Za-z0-9][A-Za-z0-9._-]{0,63})$")


def public_key_for(service_keys: ServiceKeys, key_id: str) -> bytes | None:
    citizen = citizen_public_key(key_id)
    if citizen is not None:
        return citizen
    m = SERVICE.match(key_id)
    return service_keys.sign_key(m.group(1)) if m else None


def refused(exc: RequestAuthError) -> Problem:
    """The 401 problem of a refused request, counted (a refusal is never logged)."""
    REFUSED.labels(exc.slug).inc()
    return Problem(401, exc.slug, "Request refused", str(exc))


def _limited(check, *args) -> None:
    try:
        check(*args)
    except Problem:
        RATE_LIMITED.inc()
        raise


def _verified(rt: OperatorRuntime, req, verify):
    """Run `verify()` (a signature check of `req`) within the rate limits: an address whose
    requests keep being refused is answered 429 before any signature work, and each key id
    has a budget of accepted requests."""
    _limited(rt.rate_limits.check_address, req.remote_addr)
    try:
        signed = verify()
    except RequestAuthError as exc:
        rt.rate_limits.refused(req.remote_addr)
        raise refused(exc) from None
    _limited(rt.rate_limits.accept, signed if isinstance(signed, str) else signed.key_id)
    return signed


def authenticate_request(rt: OperatorRuntime, req, lookup=None) -> str:
    """Verify a Werkzeug request and return its key id (`lookup` overrides key resolution)."""
    verifier = rt.request_verifier
    return _verified(rt, req, lambda: verifier.verify_with(lookup, req) if lookup else verifier.verify_request(req))


def check_request(rt: OperatorRuntime, req) -> Signed:
    """Verify a Werkzeug request's signature and freshness; its nonce is left for the caller
    to claim (see RequestVerifier.check)."""
    return _verified(rt, req, lambda: rt.request_verifier.check_request(req))


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
