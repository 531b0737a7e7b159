"""Sign in with MyData, the service's side (protocol: ledger/signin.py).

`GET /signin` makes a one-time challenge bound to this browser session and shows it as a
link and QR code to the citizen's app; the page reloads until the app has answered at
`POST /callback`, then the session is signed in as that citizen on its next page. The callback takes no
cookie and no CSRF token: the citizen's signature over the challenge is its authentication.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

import segno
from flask import Blueprint, redirect, request, session, url_for
from markupsafe import Markup

from httpkit.problems import Problem, bad_request
from ledger import signin

from .context import SERVICE_ID, answer, service, signed_in

bp = Blueprint("signin", __name__)

CHALLENGE_SECONDS = 300


def _safe_next(target: str | None) -> str:
    """Only a path on this service (never an open redirect)."""
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


@bp.before_app_request
def complete_signin() -> None:
    """On any page: if the citizen's app has answered this session's challenge, sign it in
    (so the app's "go back" link lands on a signed-in page)."""
    challenge = session.get("challenge")
    if challenge and not signed_in():
        citizen = service().store.take_signin(challenge)
        if citizen:
            session.clear()  # a fresh session for the signed-in citizen
            session["citizen"] = citizen


@bp.get("/signin")
def start():
    if signed_in():
        return redirect(_safe_next(request.args.get("next")), 303)
    svc = service()
    challenge = session.get("challenge")
    if challenge and not svc.store.signin_waiting(challenge):
        challenge = None  # expired: make a new one
    if not challenge:
        challenge = secrets.token_urlsafe(signin.CHALLENGE_BYTES)
        svc.store.new_signin(challenge, CHALLENGE_SECONDS)
        session["challenge"] = challenge
    query = urlencode({"service": SERVICE_ID, "challenge": challenge})
    link = f"{svc.citizen_app_url.rstrip('/')}/signin?{query}" if svc.citizen_app_url else None
    qr = Markup(segno.make(link, error="m").svg_inline(scale=4, dark="#1d2430", title="QR code: sign in with your MyData app")) if link else None
    return answer("signin.html", challenge=challenge, link=link, qr=qr, status="waiting")


@bp.post("/callback")
def callback():
    """The citizen's app answers a challenge here (JSON: ledger.signin.Answer)."""
    svc = service()
    try:
        ans = signin.parse(request.get_json(silent=True))
        citizen = signin.verify(ans, SERVICE_ID, svc.callback_url)
    except signin.SigninError as exc:
        raise bad_request(str(exc)) from None
    if not svc.store.answer_signin(ans.challenge, citizen):  # atomic: waiting, unexpired, unanswered
        raise Problem(404, "unknown-challenge", "No such sign-in is waiting", "The sign-in expired or was already answered.")
    return "", 204


@bp.post("/signout")
def signout():
    session.clear()
    return redirect(url_for("pages.home"), 303)
