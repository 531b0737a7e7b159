"""The citizen app's pages (one blueprint): identity, CV, sign-ins and consent requests,
consents, the verified access history, and the citizen's own data (export, report,
erasure). Every page works on the citizen's agent over the wallet as it is on disk."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for

from ledger import events
from ledger.errors import MyDataError
from ledger.keys import PhraseError
from ledger.passphrase_seal import SealError, WrongPassphrase
from ledger.record import parse_time
from pds.resume import AREAS, ResumeError

from . import resume_form
from .charts import access_chart
from .citizen_agent import CitizenAgent, Endpoints
from .visits import group_visits
from .wallet_door import WalletDoor

bp = Blueprint("citizen", __name__)

SECTION_ORDER = ("basics", "work", "education", "skills", "languages", "certificates", *sorted(set(AREAS) - {"basics", "work", "education", "skills", "languages", "certificates"}))


def _wallet() -> tuple[WalletDoor, Endpoints]:
    return current_app.extensions["citizen"]


def agent() -> CitizenAgent:
    """The citizen's agent on the wallet as it is now (re-read per request: cheap, never
    stale); without a wallet to the welcome page, with a locked one to the unlock page."""
    door, endpoints = _wallet()
    wallet = door.current()
    if wallet is None:
        abort(redirect(url_for(".unlock_page", next=request.path) if door.exists() else url_for(".home")))
    return CitizenAgent(wallet, endpoints)


@bp.app_errorhandler(MyDataError)
def expected_error(exc):
    return render_template("citizen/error.html", message=str(exc) or type(exc).__name__), 400 if isinstance(exc, ResumeError) else 502


@bp.app_context_processor
def common():
    door, endpoints = _wallet()
    return {"unlocked": door.current() is not None, "operator_url": endpoints.operator}


# ---- identity ------------------------------------------------------------------
@bp.get("/")
def home():
    if not _wallet()[0].exists():
        return render_template("citizen/welcome.html")
    a = agent()
    return render_template("citizen/home.html", citizen_id=a.id, pending=len(a.pending()), consents=a.consents(), foreign=a.foreign_consents())

@bp.post("/identity")
def create_identity():
    door, _ = _wallet()
    if door.exists():
        abort(409)
    phrase = " ".join(request.form.get("phrase", "").split()) or None
    passphrase = request.form.get("passphrase", "")
    try:
        if passphrase != request.form.get("passphrase_again", ""):
            raise SealError("the two passphrases differ")
        door.create(passphrase, phrase)
    except (SealError, PhraseError) as exc:
        flash(f"No identity created: {exc}.", "error")
        return render_template("citizen/welcome.html", restoring=phrase is not None), 400
    if phrase:
        flash("Identity restored from your recovery phrase.", "ok")
        return redirect(url_for(".home"))
    return redirect(url_for(".recovery_phrase"), 303)  # a reload shows the phrase again, not a resubmitted form


@bp.get("/identity")
def recovery_phrase():
    """The recovery phrase, for the citizen to write down (on their own machine only)."""
    return render_template("citizen/phrase.html", words=(agent().wallet.phrase or "").split())


@bp.get("/unlock")
def unlock_page():
    if not _wallet()[0].exists():
        return redirect(url_for(".home"))
    return render_template("citizen/unlock.html", next=_local_path(request.args.get("next")))


@bp.post("/unlock")
def unlock():
    """Open the wallet with the citizen's passphrase; back to the page they asked for."""
    door, _ = _wallet()
    if not door.exists():
        return redirect(url_for(".home"))
    target = _local_path(request.form.get("next"))
    try:
        door.unlock(request.form.get("passphrase", ""))
    except WrongPassphrase:
        flash("That passphrase does not open this wallet.", "error")
        return render_template("citizen/unlock.html", next=target), 400
    return redirect(target, 303)


@bp.post("/lock")
def lock():
    _wallet()[0].lock()
    flash("Locked. Your passphrase opens the app again.", "ok")
    return redirect(url_for(".unlock_page"), 303)


def _local_path(target: str | None) -> str:
    """`target` if it is a path on this app (never another site), else the home page."""
    return target if target and target.startswith("/") and not target.startswith(("//", "/\\")) else url_for(".home")

# ---- the CV ----------------------------------------------------------------------
@bp.get("/cv")
def cv():
    return _cv_page(agent().cv())


def _cv_page(data: dict, editing: str | None = None, unsaved: list | None = None, errors: dict | None = None, status: int = 200):
    """The CV page: each section as readable lines and as a form (`editing` opens one with
    `unsaved` items and field `errors` {(item, field): words})."""
    sections = []
    for area in SECTION_ORDER:
        stored = resume_form.items_of(area, data.get(area))
        form_items = unsaved if area == editing and unsaved is not None else (stored or ([{}] if not resume_form.is_list(area) else []))
        sections.append({"area": area, "stored": stored, "form_items": form_items, "fields": resume_form.fields(area), "is_list": resume_form.is_list(area)})
    page = render_template("citizen/cv.html", sections=sections, editing=editing, errors=errors or {}, rf=resume_form)
    return page, status


@bp.post("/cv/<area>")
def save_section(area: str):
    """Save a section from its form, or add, remove or move an item in it (not saved yet)."""
    if area not in AREAS:
        abort(404)
    a = agent()
    items = resume_form.read_form(area, request.form)
    action = request.form.get("action", "save")
    if action != "save":
        flash(f"Not saved yet: press Save {area} to keep your changes.", "ok")
        return _cv_page(a.cv(), area, resume_form.apply_action(action, items))
    try:
        version = a.save_section(area, resume_form.section_value(area, items))
    except ResumeError as exc:
        index, path, words = resume_form.error_at(area, exc.field, str(exc).split(": ", 1)[-1])
        flash(f"Not saved: check the field marked below ({words}).", "error")
        return _cv_page(a.cv(), area, items, {(index, path): words}, 400)
    flash(f"Saved {area} as version {version}, encrypted before it left this app.", "ok")
    return redirect(url_for(".cv") + f"#{area}")

# ---- signing in to a service ------------------------------------------------------
@bp.get("/signin")
def signin_page():
    """A service's "Sign in with MyData" link lands here: who asks, and a button to confirm."""
    service_id, challenge = request.args.get("service", ""), request.args.get("challenge", "")
    if not service_id or not challenge:
        abort(400)
    return render_template("citizen/signin.html", service=agent().service(service_id), challenge=challenge)

@bp.post("/signin")
def signin_confirm():
    svc = agent().sign_in(request.form.get("service", ""), request.form.get("challenge", ""))
    url = urlsplit(svc["callback_url"])
    return render_template("citizen/signed_in.html", service=svc, back=f"{url.scheme}://{url.netloc}/")

# ---- consent requests --------------------------------------------------------------
@bp.get("/requests")
def requests_page():
    a = agent()
    pending = a.pending()
    return render_template("citizen/requests.html", requests=pending, changes={r["id"]: a.agreement_changes(r) for r in pending})

def _pending(a: CitizenAgent, rid: str) -> dict:
    found = [r for r in a.pending() if r["id"] == rid]
    if not found:
        abort(404)
    return found[0]

@bp.post("/requests/<rid>/approve")
def approve(rid: str):
    a = agent()
    req = _pending(a, rid)
    chosen = set(request.form.getlist("permission"))
    permissions = [p for p in req["permissions"] if f"{p['area']}:{p['access']}" in chosen]
    if not permissions:
        flash("Choose at least one permission to approve, or refuse the request.", "error")
        return redirect(url_for(".requests_page"))
    rcpt = a.approve(req, permissions)
    flash(f"Consent given to {req['service']['name']}: on chain in block {rcpt['chain']['block']}.", "ok")
    return redirect(url_for(".consents"))

@bp.post("/requests/<rid>/refuse")
def refuse(rid: str):
    a = agent()
    req = _pending(a, rid)
    a.refuse(req)
    flash(f"Refused {req['service']['name']}'s request. The refusal is logged too.", "ok")
    return redirect(url_for(".requests_page"))

# ---- consents ----------------------------------------------------------------------
@bp.get("/consents")
def consents():
    a = agent()
    return render_template("citizen/consents.html", consents=sorted(a.consents(), key=lambda c: c["granted_at"], reverse=True), foreign=a.foreign_consents())

@bp.post("/consents/<cid>/revoke")
def revoke(cid: str):
    outcome = agent().revoke(cid)
    relocked = ", ".join(outcome["relocked"]) or "no stored areas"
    flash(f"Revoked: the chain confirmed it at {outcome['revoked_at']} (block {outcome['block']}). New keys for {relocked}.", "ok")
    return redirect(url_for(".consents"))

# ---- history -----------------------------------------------------------------------
@bp.get("/history")
def history():
    a = agent()
    names = _names(a)
    items = [_timeline_item(h, names) for h in reversed(a.history())]
    accesses = [(parse_time(i["time"]), i["who"]) for i in items if i["type"] in events.DATA_TYPES and i["time"]]
    return render_template("citizen/history.html", items=group_visits(items), chart=access_chart(accesses))

# ---- your data ---------------------------------------------------------------------
@bp.get("/data")
def your_data():
    return render_template("citizen/data.html")

@bp.get("/data/export.json")
def export():
    return _download(agent().export(), "mydata-export-art20")

@bp.get("/data/report")
def report_page():
    """Art 15 as a page people read and print: who received what, when, why and under which
    consent, each access with the proof badge this app verified."""
    a = agent()
    report = a.access_report()
    proofs = {h["index"]: h["status"] for h in a.history()}
    names = report.get("services", {})
    return render_template("citizen/report.html", report=report, names=names, proofs=proofs)


@bp.get("/data/report.json")
def report():
    return _download(agent().access_report(), "mydata-report-art15")

@bp.post("/data/erase")
def erase():
    if request.form.get("confirm") != "ERASE":
        flash("Type ERASE to confirm.", "error")
        return redirect(url_for(".your_data"))
    out = agent().erase()
    return render_template("citizen/erased.html", revoked=out["revoked"])



def _download(body: dict, name: str) -> Response:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Response(
        json.dumps(body, indent=2, ensure_ascii=False), mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}-{stamp}.json"'},
    )


def _names(a: CitizenAgent) -> dict[str, str]:
    """Display names: consent id -> service name (from the wallet), service id -> name."""
    out = {}
    for cid, c in a.wallet.data["consents"].items():
        out[cid] = out[c["record"]["controller"]["id"]] = c["record"]["controller"]["name"]
    return out


WHAT = {
    events.CONSENT_GRANTED: "consent given", events.CONSENT_REVOKED: "consent revoked", events.CONSENT_EXPIRED: "consent expired",
    events.CONSENT_REFUSED: "request refused", events.DATA_READ: "read", events.DATA_WRITTEN: "wrote", events.DATA_DENIED: "was denied",
}


WHY = {
    "revoked": "you revoked the consent", "expired": "the consent had expired", "unconfirmed": "the chain had not confirmed your consent yet", "no-consent": "it holds no consent from you",
    "area-not-granted": "your consent does not cover it", "not-shared": "your data key was not shared with it", "bad-signature": "its request signature was forged",
    "replayed-request": "the request was a replay", "stale-request": "the request was too old", "unknown-key": "the caller is not a registered service",
}


def _timeline_item(h: dict, names: dict[str, str]) -> dict:
    e = h["entry"]
    who = names.get(e.get("service")) or names.get(e.get("consent_id")) or e.get("service") or "unknown service"
    return {
        "index": h["index"], "type": e["type"], "who": who, "area": e.get("area"),
        "what": "found nothing in" if e.get("decision") == "empty" else WHAT.get(e["type"], e["type"]),  # a read of an area left empty
        "why": WHY.get(e.get("reason"), e.get("reason")), "time": e.get("time"), "block": e.get("block"), "status": h["status"],
        "never_given": h.get("never_given", False),
    }
