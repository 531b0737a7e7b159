"""Services' access to citizens' areas, free of any web framework: authenticate, decide,
release, and log every denial.

Shared by the Flask routes that write (data_api) and the bare WSGI route that releases
(release_route). Every request is signed by the service; the decision comes from the
consent index; a release hands back the encrypted envelope and the data key wrapped for
the reader. Every release and every denial of an authenticated service is logged under
the citizen; requests that fail authentication (unsigned, badly signed, stale, replayed,
unknown key) or come from a non-service key are refused before anything is logged, and
only counted (metrics): a stranger cannot write into a citizen's history.

A release has no side effect before its log entry, so its nonce is claimed by that log
append (one durable write for the replay check and the record, where other requests
claim theirs in the nonce store first); a replay writes nothing and is refused. For the
same reason it is decided at the follower position its process read last, with no round
trip to the log: its entry is written only while the follower still stands there, and a
release whose entry finds the position moved is decided again at a fresh one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from httpkit.problems import Problem
from httpkit.query_args import query_int
from ledger import events
from ledger.keys import CITIZEN_KEY_ID
from ledger.record import AREA_NAME
from ledger.request_auth import replayed
from storage.log import ClaimTaken, StaleRead

from . import release
from .auth import authenticate_request, check_request, refused, service_of
from .pds_client import PdsError
from .release import Decision

if TYPE_CHECKING:
    from ..chain.follower import Position
    from ..runtime import OperatorRuntime

DECISION_ATTEMPTS = 3  # a release whose log entry found the follower moved is decided again, this often at most
# Where a side-effect-free request is decided, its log entry expecting that position: the
# one its process read last (no round trip), or one read now (after a StaleRead).
PositionRead = Literal["last", "now"]


@dataclass(frozen=True)
class Access:
    """An authorised request: who, the decision, the nonce claim its log entry must make
    (None when the nonce store has claimed it already) and the position that entry expects
    (None: none)."""

    service: str
    decision: Decision
    claim: tuple[str, float] | None
    expects: Position | None = None


def deny(
    rt: OperatorRuntime,
    service: str,
    citizen: str | None,
    area: str,
    reason: str,
    block: int,
    consent_id: str | None = None,
    status: int = 403,
    detail: str = "",
    claim=None,
    expects: Position | None = None,
) -> Problem:
    """Log a denial and return the problem to answer with (a replay's, unlogged, if `claim`
    was taken); StaleRead if the follower moved from `expects`."""
    try:
        release.log_access(rt, events.DATA_DENIED, service, citizen, area, "denied", block, consent_id, claim, expects, reason=reason)
    except ClaimTaken:
        return refused(replayed())
    return Problem(status, reason, "Access denied", detail or reason, consent_id=consent_id)


def authorise(rt: OperatorRuntime, req, citizen: str, area: str, access: str) -> Access:
    """Authenticate the service behind Werkzeug request `req` (its nonce claimed in the nonce
    store) and decide, at the follower's position read now. A request that is not a
    service's valid, fresh signature is refused unlogged; a denial is logged before it is
    raised."""
    _check_names(citizen, area)
    return _decided(rt, service_of(authenticate_request(rt, req)), citizen, area, access, None, None)


def _check_names(citizen: str, area: str) -> None:
    if not CITIZEN_KEY_ID.match(citizen) or not AREA_NAME.match(area):
        raise Problem(404, "not-found", "No such citizen or area")


def _decided(
    rt: OperatorRuntime, service: str, citizen: str, area: str, access: str, claim: tuple[str, float] | None, expected: PositionRead | None
) -> Access:
    """The decision as an Access, its denial logged and raised. `expected` (side-effect-free
    requests only, whose log entry claims `claim`): that entry, and a denial's, expects the
    position decided at (None: decided at a position read now, expecting nothing)."""
    decision = release.decide(rt, service, citizen, area, access, last_read=expected == "last")
    expects = decision.at if expected else None
    if not decision.allowed:
        cid = decision.consent.consent_id if decision.consent else None
        raise deny(rt, service, citizen, area, decision.reason, decision.block, cid, claim=claim, expects=expects)
    if rt.pds is None:
        raise Problem(503, "no-pds", "This operator has no PDS configured")
    return Access(service, decision, claim, expects)


def release_area(rt: OperatorRuntime, req, citizen: str, area: str) -> dict:
    """Release the latest version of an area to the service that signed `req`, logged.

    `?min_version=N` (the newest version the service has seen) keeps a cached release older
    than N from being served: the PDS is asked instead, so a reader never sees versions go
    backwards across the workers and replicas that each keep their own cache.

    Decided first at the position this process read last; a log entry that finds the
    follower moved since is not written, and the release is decided again at a fresh one."""
    min_version = query_int(req.args, "min_version", 0)
    _check_names(citizen, area)
    signed = check_request(rt, req)
    service, claim = service_of(signed.key_id), (signed.nonce_key, signed.expires_at)
    for attempt in range(DECISION_ATTEMPTS):
        try:
            a = _decided(rt, service, citizen, area, "read", claim, "now" if attempt else "last")
            return _release(rt, a, citizen, area, min_version)
        except StaleRead:
            continue
    raise Problem(503, "ledger-moving", "The ledger changed while this release was decided; try again")


def _release(rt: OperatorRuntime, a: Access, citizen: str, area: str, min_version: int) -> dict:
    d, cid = a.decision, a.decision.consent.consent_id
    try:
        recipient = f"service:{a.service}"
        latest = rt.release_cache.get(citizen, area, recipient, lambda: rt.pds.release(citizen, area, recipient), min_version)
    except PdsError as exc:
        if _nothing_stored(exc):
            return _release_nothing(rt, a, citizen, area)
        reason = "not-shared" if exc.status == 404 else "pds-error"
        raise deny(rt, a.service, citizen, area, reason, d.block, cid, 404 if exc.status == 404 else 502, str(exc), a.claim, a.expects) from None
    _log_read(rt, a, citizen, area, "released", latest["version"])
    return {"consent_id": cid, "version": latest["version"], "key_version": latest["key_version"], "envelope": latest["envelope"], "wrapped_key": latest["wrapped_key"], "checked_block": d.block}


def _nothing_stored(exc: PdsError) -> bool:
    """The PDS holds no version of the area (as opposed to one not shared with the reader)."""
    return exc.status == 404 and str(exc.problem.get("type", "")).endswith("/not-found")


def _release_nothing(rt: OperatorRuntime, a: Access, citizen: str, area: str) -> dict:
    """An area the consent covers but the citizen left empty: a read of nothing, logged as a
    read ("empty"), not as a denial."""
    _log_read(rt, a, citizen, area, "empty", 0)
    return {"consent_id": a.decision.consent.consent_id, "version": 0, "empty": True, "checked_block": a.decision.block}


def _log_read(rt: OperatorRuntime, a: Access, citizen: str, area: str, decision: str, version: int) -> None:
    """Log the `data.read` of `version` (0: nothing stored) under the request's claim; a
    claim taken before is a replay, refused and not logged again."""
    try:
        release.log_access(rt, events.DATA_READ, a.service, citizen, area, decision, a.decision.block, a.decision.consent.consent_id, a.claim, a.expects, version=version)
    except ClaimTaken:
        raise refused(replayed()) from None
