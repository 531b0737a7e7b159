"""Services' access to citizens' areas, free of any web framework: authenticate, decide,
release, and log every denial.

Shared by the Flask routes that write (data_api) and the bare WSGI route that releases
(release_route). Every request is signed by the service; the decision comes from the
consent index; a release hands back the encrypted envelope and the data key wrapped for
the reader. Every release and denial, refused signatures included, is logged.
"""

from __future__ import annotations

from ledger import events
from ledger.keys import CITIZEN_KEY_ID
from ledger.problems import Problem
from ledger.record import AREA_NAME
from ledger.request_auth import claimed_key_id

from . import release
from .auth import SERVICE, authenticate_request, service_of
from .pds_client import PdsError
from .release import Decision


def deny(rt, service: str, citizen: str | None, area: str, reason: str, block: int, consent_id: str | None = None, status: int = 403, detail: str = "") -> Problem:
    """Log a denial and return the problem to answer with."""
    release.log_access(rt, events.DATA_DENIED, service, citizen, area, "denied", block, consent_id, reason=reason)
    return Problem(status, reason, "Access denied", detail or reason, consent_id=consent_id)


def authorise(rt, req, citizen: str, area: str, access: str) -> tuple[str, Decision]:
    """Authenticate the service behind Werkzeug request `req` and decide; every refusal is
    logged before it is raised."""
    if not CITIZEN_KEY_ID.match(citizen) or not AREA_NAME.match(area):
        raise Problem(404, "not-found", "No such citizen or area")
    try:
        service = service_of(authenticate_request(rt, req))
    except Problem as exc:
        m = SERVICE.match(claimed_key_id(req.headers) or "")
        raise deny(rt, m.group(1) if m else "unauthenticated", citizen, area, exc.slug, rt.follower.last_block, status=exc.status, detail=exc.detail) from None
    decision = release.decide(rt, service, citizen, area, access)
    if not decision.allowed:
        cid = decision.consent.consent_id if decision.consent else None
        raise deny(rt, service, citizen, area, decision.reason, decision.block, cid)
    if rt.pds is None:
        raise Problem(503, "no-pds", "This operator has no PDS configured")
    return service, decision


def release_area(rt, req, citizen: str, area: str) -> dict:
    """Release the latest version of an area to the service that signed `req`, logged."""
    service, d = authorise(rt, req, citizen, area, "read")
    cid = d.consent.consent_id
    try:
        recipient = f"service:{service}"
        latest = rt.release_cache.get(citizen, area, recipient, lambda: rt.pds.release(citizen, area, recipient))
    except PdsError as exc:
        raise deny(rt, service, citizen, area, "no-data" if exc.status == 404 else "pds-error", d.block, cid, 404 if exc.status == 404 else 502, str(exc)) from None
    release.log_access(rt, events.DATA_READ, service, citizen, area, "released", d.block, cid, version=latest["version"])
    return {"consent_id": cid, "version": latest["version"], "key_version": latest["key_version"], "envelope": latest["envelope"], "wrapped_key": latest["wrapped_key"], "checked_block": d.block}
