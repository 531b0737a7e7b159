"""The CV service's pages for a signed-in citizen: ask for consent, follow the request,
see the CV built from released data, and be issued a certificate."""

from __future__ import annotations

from datetime import UTC, datetime

import segno
from flask import Blueprint, abort, jsonify, redirect, request, url_for
from markupsafe import Markup

from ledger.citizen import OperatorError
from ledger.receipt import ReceiptError
from pds.envelope import EnvelopeError

from .context import NAME, answer, require_citizen, service, signed_in, wants_json

bp = Blueprint("pages", __name__)

CV_AREAS = ("work", "education", "skills", "certificates")
PERMISSIONS = [{"area": a, "access": "read"} for a in CV_AREAS] + [{"area": "certificates", "access": "write"}]
PURPOSES = ["dpv:ServiceProvision", "Build and show your CV; issue course certificates into it"]
RETENTION_DAYS = 0  # keeps a copy only while the consent holds (cv_service/notified.py drops it at the end)
DURATION_DAYS = 90
NOTICE = (
    b"CV Builder reads your work history, education, skills and certificates to render your CV, "
    b"and may add certificates it issues to you. It keeps no copy: every page is built from what "
    b"the MyData operator releases with your consent, which you can revoke at any time."
)


@bp.get("/")
def home():
    return answer("home.html", permissions=PERMISSIONS, purposes=PURPOSES, days=DURATION_DAYS)


@bp.get("/privacy")
def privacy():
    return NOTICE, 200, {"Content-Type": "text/plain; charset=utf-8"}


@bp.post("/connect")
def connect():
    """Ask the signed-in citizen for consent (no identifier typed by anyone)."""
    citizen = require_citizen()
    svc = service()
    notice = svc.public_url.rstrip("/") + "/privacy"
    rid = svc.client.request_consent(citizen, PURPOSES, PERMISSIONS, DURATION_DAYS, notice, NOTICE, svc.client.latest_agreement_version())
    svc.store.add(rid, citizen)
    return redirect(url_for("pages.request_status", rid=rid), 303)


@bp.get("/requests/<rid>")
def request_status(rid: str):
    citizen = require_citizen()
    svc = service()
    if svc.store.citizen_of(rid) != citizen:
        abort(404)  # another citizen's request does not exist for this session
    req = svc.client.consent_request(rid)
    verified = None
    if req["status"] == "approved":
        try:
            verified = svc.client.verify_receipt(req["receipt"], svc.chain_url).status
        except ReceiptError as exc:
            verified = f"receipt invalid: {exc}"
    link = f"{svc.citizen_app_url.rstrip('/')}/requests#{rid}" if svc.citizen_app_url else None
    qr = Markup(segno.make(link, error="m").svg_inline(scale=4, dark="#1d2430", title="QR code: open this request in your MyData app")) if link else None
    return answer("request.html", id=rid, status=req["status"], consent_id=req["consent_id"], receipt_status=verified, link=link, qr=qr)


@bp.get("/cv")
def cv():
    """The CV from the areas the citizen's consent covers, read only those: an area the
    citizen chose not to share is not asked for (no denial logged in their history), an
    empty one is shown as empty, and a consent that ended is said so, with nothing read."""
    citizen = require_citizen()
    svc = service()
    consent = _current_consent(svc, citizen)
    sections, empty, not_shared, refused = {}, [], [], {}
    for area in CV_AREAS:
        if consent is None or not consent.allows(area):
            not_shared.append(area)
            continue
        try:
            document = svc.client.read_area(citizen, area)
        except OperatorError as exc:
            refused[area] = _reason(exc)
            continue
        except EnvelopeError as exc:  # not the current version, or not by a trusted writer
            refused[area] = f"not shown: {exc}"
            continue
        if document is None:
            empty.append(area)
        else:
            sections[area] = document
            svc.store.keep_copy(citizen, area, document)  # dropped when the operator says the consent ended
    shown = bool(sections or empty)
    ended = {"how": consent.ended, "at": consent.ended_at, "told": svc.store.ending_of(consent.consent_id)} if consent and consent.ended else None
    return answer(
        "cv.html", 200 if shown else 403, sections=sections, empty=empty, not_shared=not_shared, refused=refused, ended=ended, consented=consent is not None
    )


def _current_consent(svc, citizen: str):
    """The consent from the citizen's newest approved request to this service (None if none)."""
    for rid in svc.store.requests_of(citizen):
        consent = svc.client.consent_for(rid)
        if consent is not None:
            return consent
    return None


@bp.post("/cv/certificates")
def issue_certificate():
    """Issue a certificate: append it to the signed-in citizen's certificates under write consent."""
    citizen = require_citizen()
    svc = service()
    course = (request.form.get("course") or (request.get_json(silent=True) or {}).get("course") or "MyData Consent Basics").strip()[:200]
    try:
        current = svc.client.read_area(citizen, "certificates") or []  # None: none stored yet
    except OperatorError as exc:
        return answer("cv.html", 403, sections={}, refused={"certificates": _reason(exc)}, consented=True)
    cert = {"name": course, "date": datetime.now(UTC).strftime("%Y-%m-%d"), "issuer": NAME, "url": svc.public_url.rstrip("/") + "/privacy"}
    try:
        version = svc.client.write_area(citizen, "certificates", [*current, cert])
    except OperatorError as exc:
        return answer("cv.html", 403, sections={}, refused={"certificates": _reason(exc)}, consented=True)
    if wants_json():
        return jsonify({"version": version, "certificate": cert, "citizen": signed_in()}), 201
    return redirect(url_for("pages.cv"), 303)


@bp.get("/healthz")
def healthz():
    return "ok"


def _reason(exc: OperatorError) -> str:
    """The operator's stable problem type (revoked, no-consent, …) of a refusal."""
    return exc.problem.get("type", "").rsplit("/", 1)[-1] or exc.problem.get("title", "error")
