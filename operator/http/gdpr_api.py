"""GDPR rights the operator answers for a citizen: the Art 15 access report and erasure.

The report names every recipient, purpose and time the operator knows of: consents with
their status, each release, write and denial from the log, and refused requests.
Erasure removes what links the citizen to anything: requests (with the records and
salts in their receipts), consent-index rows, the published key and the log's private
lookup key. The log entries and the chain records stay, pseudonymous and now unlinkable.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from flask import Blueprint, jsonify

from httpkit.problems import Problem
from ledger import events
from ledger.lookup_keys import consent_key, grant_key
from ledger.record import format_time

from ..access.approval import refused_permissions
from ..access.auth import require_citizen
from ..access.release import status_of
from .http_util import runtime

if TYPE_CHECKING:
    from ..runtime import OperatorRuntime

bp = Blueprint("gdpr", __name__, url_prefix="/v1/citizens/<citizen>")


def _own(citizen: str) -> None:
    if require_citizen() != citizen:
        raise Problem(403, "forbidden", "Only the citizen may do this", citizen)


def _service_names(rt: OperatorRuntime, ids) -> dict[str, str]:
    return {sid: (s.name if (s := rt.directory.service(sid)) else sid) for sid in ids}


@bp.get("/report")
def access_report(citizen: str):
    """Art 15: who received which data, for which purposes, when; and what was refused."""
    _own(citizen)
    rt = runtime()
    now = rt.follower.chain_time()
    requests_ = rt.directory.requests_of(citizen)
    consents = []
    for req in (r for r in requests_ if r["status"] == "approved"):
        c = rt.directory.consent(req["consent_id"])
        grant = _grant_entry(rt, c.consent_id)
        consents.append(
            {
                "consent_id": c.consent_id, "service": c.service_id, "purposes": rt.directory.narrowed_purposes(c.consent_id) or req["purposes"],
                "permissions": c.permissions, "granted_at": grant.get("time"), "expires_at": format_time(datetime.fromtimestamp(c.expires_at, UTC)),
                "status": status_of(rt, c, now), "chain_tx": grant.get("tx"),
            }
        )
    accesses = []
    for i in rt.log.find(citizen):
        entry = json.loads(rt.log.entry(i))
        if entry["type"] in events.DATA_TYPES:
            accesses.append({"log_index": i, **{k: entry.get(k) for k in ("time", "type", "service", "area", "decision", "reason", "consent_id")}})
    names = _service_names(rt, {c["service"] for c in consents} | {a["service"] for a in accesses} | {r["service_id"] for r in requests_})
    recipients = []
    released = [a for a in accesses if a["type"] == events.DATA_READ and a["decision"] == "released"]  # not reads of an empty area
    for sid in sorted({a["service"] for a in released}):
        reads = [a for a in released if a["service"] == sid]
        recipients.append({"service": sid, "name": names[sid], "areas": sorted({a["area"] for a in reads}), "releases": len(reads), "last_release": reads[-1]["time"]})
    return jsonify(
        {
            "article": "GDPR Art. 15",
            "subject": citizen,
            "generated_at": format_time(datetime.now(UTC)),
            "operator_log": rt.log.origin,
            "services": names,
            "recipients": recipients,
            "consents": consents,
            "accesses": accesses,
            "refused_requests": _refusals(rt, requests_),
            "storage": "The PDS holds the CV encrypted; the operator holds no plaintext, only this consent index and the access log.",
        }
    )


def _grant_entry(rt: OperatorRuntime, consent_id: str) -> dict:
    """The log's `consent.granted` entry of a consent (its transaction and chain time); {} if
    the log has none (a grant a reorg withdrew)."""
    found = rt.log.find(grant_key(consent_id)) or rt.log.find(consent_key(consent_id))[:1]  # logs from before grants had their own key
    entry = events.decode(rt.log.entry(found[0])) if found else {}
    return entry if entry.get("type") == events.CONSENT_GRANTED else {}


def _refusals(rt: OperatorRuntime, requests_: list[dict]) -> list[dict]:
    """Each request the citizen refused, in whole or (approving the rest) in part, with the
    permissions refused."""
    out = []
    for r in requests_:
        if r["status"] == "refused":
            refused, partial = r["permissions"], False
        elif r["status"] == "approved":
            refused, partial = refused_permissions(r["permissions"], rt.directory.consent(r["consent_id"]).permissions), True
        else:
            continue
        if refused:
            out.append({"request": r["id"], "service": r["service_id"], "purposes": r["purposes"], "permissions": refused, "partial": partial, "decided_at": r["decided_at"]})
    return out


@bp.delete("")
def erase(citizen: str):
    """Erasure: refused while a consent is still active (revoke first, so the chain agrees)."""
    _own(citizen)
    rt = runtime()
    now = rt.follower.chain_time()
    active = [c.consent_id for c in rt.directory.consents_for_citizen(citizen) if status_of(rt, c, now) == "active"]
    if active:
        raise Problem(409, "active-consents", "Revoke every active consent first", f"{len(active)} still active", consents=active)
    rows = rt.directory.erase_citizen(citizen) + rt.log.forget(citizen) + rt.request_verifier.nonces.forget(citizen)
    return jsonify({"erased": citizen, "rows": rows})
