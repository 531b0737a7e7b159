"""What every page of the CV service shares: its SDK client and store, who is signed in,
and answering in HTML or JSON."""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_wtf.csrf import generate_csrf

from httpkit.problems import Problem

from .requests_store import RequestsStore
from .sdk import ServiceClient

SERVICE_ID = "cv-builder"
NAME = "CV Builder"


@dataclass(frozen=True)
class CvService:
    client: ServiceClient
    store: RequestsStore
    public_url: str
    chain_url: str
    citizen_app_url: str | None

    @property
    def callback_url(self) -> str:
        """Where the operator's directory says this service takes sign-ins."""
        return self.public_url.rstrip("/") + "/callback"

    @property
    def notify_url(self) -> str:
        """Where the operator tells this service that a consent ended (cv_service/notified.py)."""
        return self.public_url.rstrip("/") + "/notifications"


def service() -> CvService:
    return current_app.extensions["cv_service"]


def wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def answer(template: str, code: int = 200, **data):
    """The page, or its data as JSON for clients that ask for it (with a CSRF token to post with)."""
    if wants_json():
        return jsonify({**data, "citizen": signed_in(), "csrf_token": generate_csrf()}), code
    return render_template(template, name=NAME, citizen_app_url=service().citizen_app_url, signed_in=signed_in(), **data), code


def signed_in() -> str | None:
    """The citizen id this browser session signed in as, if any."""
    return session.get("citizen")


def require_citizen() -> str:
    """The signed-in citizen; anonymous callers get nothing (sign-in page, or 401 as JSON)."""
    citizen = signed_in()
    if citizen is None:
        if wants_json() or request.method != "GET":
            raise Problem(401, "sign-in-required", "Sign in with MyData first")
        abort(redirect(url_for("signin.start", next=request.path)))
    return citizen
