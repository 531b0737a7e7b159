"""The sample service: a CV builder and certificate issuer on its own port, built on the SDK.

It asks a citizen to read `work`, `education`, `skills` and `certificates` and to write
`certificates`; renders a CV page from what the operator releases; and issues a signed
certificate into `certificates`. Every page also answers JSON (Accept: application/json).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import segno
from flask import Flask, abort, jsonify, redirect, render_template, request, url_for
from markupsafe import Markup

from ledger.citizen import OperatorError
from ledger.http_headers import SecurityHeaders
from ledger.http_limits import BodyLimits
from ledger.keys import CITIZEN_KEY_ID
from ledger.receipt import ReceiptError
from pds.envelope import EnvelopeError

from .identity import ServiceIdentity
from .requests_store import RequestsStore
from .sdk import ServiceClient

SERVICE_ID = "cv-builder"
NAME = "CV Builder"
CV_AREAS = ("work", "education", "skills", "certificates")
PERMISSIONS = [{"area": a, "access": "read"} for a in CV_AREAS] + [{"area": "certificates", "access": "write"}]
PURPOSES = ["dpv:ServiceProvision", "Build and show your CV; issue course certificates into it"]
DURATION_DAYS = 90
NOTICE = (
    "CV Builder reads your work history, education, skills and certificates to render your CV, "
    "and may add certificates it issues to you. It keeps no copy: every page is built from what "
    "the MyData operator releases with your consent, which you can revoke at any time."
).encode()


def create_app(operator_url: str, chain_url: str, data_dir: str | Path, public_url: str, citizen_app_url: str | None = None) -> Flask:
    data_dir = Path(data_dir)
    identity = ServiceIdentity.load_or_create(data_dir / "service-keys.json")
    store = RequestsStore(data_dir / "cv-service.sqlite")
    client = ServiceClient(operator_url, SERVICE_ID, identity.sign_seed, identity.enc_key, seen=store)
    app = Flask("cv_service")

    def registered() -> None:
        client.register(NAME, "Builds CVs from your MyData and issues course certificates", public_url.rstrip("/") + "/callback")

    app.extensions["cv_service.register"] = registered

    def answer(template: str, code: int = 200, **data):
        if request.accept_mimetypes.best == "application/json":
            return jsonify(data), code
        return render_template(template, name=NAME, citizen_app_url=citizen_app_url, **data), code

    @app.get("/")
    def home():
        return answer("home.html", permissions=PERMISSIONS, purposes=PURPOSES, days=DURATION_DAYS)

    @app.get("/privacy")
    def privacy():
        return NOTICE, 200, {"Content-Type": "text/plain; charset=utf-8"}

    @app.post("/connect")
    def connect():
        citizen = (request.form.get("citizen") or (request.get_json(silent=True) or {}).get("citizen") or "").strip()
        if not CITIZEN_KEY_ID.match(citizen):
            return answer("home.html", 400, permissions=PERMISSIONS, purposes=PURPOSES, days=DURATION_DAYS, error="That is not a MyData citizen id (citizen:<64 hex digits>).")
        rid = client.request_consent(citizen, PURPOSES, PERMISSIONS, DURATION_DAYS, public_url.rstrip("/") + "/privacy", NOTICE)
        store.add(rid, citizen)
        return redirect(url_for("request_status", rid=rid), 303)

    @app.get("/requests/<rid>")
    def request_status(rid: str):
        if store.citizen_of(rid) is None:
            abort(404)
        req = client.consent_request(rid)
        verified = None
        if req["status"] == "approved":
            try:
                verified = client.verify_receipt(req["receipt"], chain_url).status
            except ReceiptError as exc:
                verified = f"receipt invalid: {exc}"
        link = f"{citizen_app_url.rstrip('/')}/requests#{rid}" if citizen_app_url else None
        qr = Markup(segno.make(link, error="m").svg_inline(scale=4, dark="#1d2430", title="QR code: open this request in your MyData app")) if link else None
        return answer("request.html", id=rid, citizen=req["citizen"], status=req["status"], consent_id=req["consent_id"], receipt_status=verified, link=link, qr=qr)

    @app.get("/cv/<citizen>")
    def cv(citizen: str):
        sections, refused = {}, {}
        for area in CV_AREAS:
            try:
                sections[area] = client.read_area(citizen, area)
            except OperatorError as exc:
                refused[area] = _reason(exc)
            except EnvelopeError as exc:  # not the current version, or not by a trusted writer
                refused[area] = f"not shown: {exc}"
        return answer("cv.html", 200 if sections else 403, citizen=citizen, sections=sections, refused=refused)

    @app.post("/cv/<citizen>/certificates")
    def issue_certificate(citizen: str):
        """Issue a certificate: append it to the citizen's certificates under write consent."""
        course = (request.form.get("course") or (request.get_json(silent=True) or {}).get("course") or "MyData Consent Basics").strip()[:200]
        try:
            current = client.read_area(citizen, "certificates")
        except OperatorError as exc:
            if _reason(exc) != "no-data":
                return answer("cv.html", 403, citizen=citizen, sections={}, refused={"certificates": _reason(exc)})
            current = []
        cert = {"name": course, "date": datetime.now(UTC).strftime("%Y-%m-%d"), "issuer": NAME, "url": public_url.rstrip("/") + "/privacy"}
        try:
            version = client.write_area(citizen, "certificates", [*current, cert])
        except OperatorError as exc:
            return answer("cv.html", 403, citizen=citizen, sections={}, refused={"certificates": _reason(exc)})
        if request.accept_mimetypes.best == "application/json":
            return jsonify({"version": version, "certificate": cert}), 201
        return redirect(url_for("cv", citizen=citizen), 303)

    @app.get("/healthz")
    def healthz():
        return "ok"

    app.wsgi_app = SecurityHeaders(BodyLimits(app.wsgi_app))
    return app


def _reason(exc: OperatorError) -> str:
    """The operator's stable problem type (revoked, no-consent, …) of a refusal."""
    return exc.problem.get("type", "").rsplit("/", 1)[-1] or exc.problem.get("title", "error")
