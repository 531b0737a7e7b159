"""The sample service: a CV builder and certificate issuer on its own port, built on the SDK.

Citizens sign in with MyData (signin_routes), then it asks them to read `work`,
`education`, `skills` and `certificates` and to write `certificates`; renders a CV page
from what the operator releases; and issues a signed certificate into `certificates`
(pages). Every page also answers JSON (Accept: application/json). Anonymous callers see
nothing; every form and JSON post needs the session's CSRF token, and the session cookie
is SameSite=Lax, so another site can neither read nor write through a citizen's session.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from httpkit import readable
from httpkit.http_headers import SecurityHeaders
from httpkit.http_limits import BodyLimits
from httpkit.problems import Problem

from . import notified, pages, signin_routes
from .context import NAME, SERVICE_ID, CvService
from .identity import ServiceIdentity
from .requests_store import RequestsStore
from .sdk import ServiceClient


def create_app(operator_url: str, chain_url: str, data_dir: str | Path, public_url: str, citizen_app_url: str | None = None) -> Flask:
    data_dir = Path(data_dir)
    identity = ServiceIdentity.load_or_create(data_dir / "service-keys.json")
    store = RequestsStore(data_dir / "cv-service.sqlite")
    client = ServiceClient(operator_url, SERVICE_ID, identity.sign_seed, identity.enc_key, seen=store, receipts=store)
    svc = CvService(client, store, public_url, chain_url, citizen_app_url)
    app = Flask("cv_service")
    app.secret_key = identity.session_key  # sessions outlive a restart of the service
    # Cookies are per host, not per port: on 127.0.0.1 beside the citizen app, a cookie of
    # the same name would overwrite the other app's session.
    app.config.update(SESSION_COOKIE_NAME="cv_builder_session", SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_HTTPONLY=True, WTF_CSRF_TIME_LIMIT=None)
    app.extensions["cv_service"] = svc
    csrf = CSRFProtect(app)
    csrf.exempt(signin_routes.callback)  # authenticated by the citizen's signature, not a cookie
    csrf.exempt(notified.notification)  # authenticated by the operator's signature
    app.register_error_handler(Problem, lambda p: p.response())
    app.register_blueprint(pages.bp)
    app.register_blueprint(signin_routes.bp)
    app.register_blueprint(notified.bp)
    readable.install(app)

    def registered() -> None:
        """Register with the operator and publish the data agreement consent requests name."""
        client.register(NAME, "Builds CVs from your MyData and issues course certificates", svc.callback_url, svc.notify_url)
        client.publish_agreement(pages.PURPOSES, pages.PERMISSIONS, pages.RETENTION_DAYS, recipients=[], jurisdiction="SE")

    app.extensions["cv_service.register"] = registered
    app.wsgi_app = SecurityHeaders(BodyLimits(app.wsgi_app))
    return app
