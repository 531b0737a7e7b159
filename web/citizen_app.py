"""The citizen app: server-rendered pages on the citizen's own machine (127.0.0.1). This
factory only assembles; the pages are in citizen_pages.py.

It holds the citizen's wallet (keys, records, salts, receipts; locked until the passphrase is given) and reaches the operator,
the PDS and a chain node only over HTTP through `CitizenAgent`; the operator never sees a
key. Forms are CSRF-protected and only loopback host names are served (against DNS
rebinding: the app holds the keys). Every history entry's badge is computed here: green only
when its inclusion proof and the checkpoint's on-chain anchor verified in this app.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from httpkit import readable
from httpkit.http_headers import SecurityHeaders
from httpkit.http_limits import AREA_MAX_BODY, BodyLimits

from . import citizen_pages
from .citizen_agent import Endpoints
from .wallet_door import WalletDoor


def create_app(wallet_path: str | Path, endpoints: Endpoints, passphrase: str | None = None) -> Flask:
    """The app on the wallet at `wallet_path`: locked until the citizen types the passphrase,
    or unlocked with `passphrase` as soon as the wallet exists."""
    app = Flask("citizen_app", template_folder=str(Path(__file__).with_name("templates")), static_folder=str(Path(__file__).with_name("static")))
    app.secret_key = os.urandom(32)  # sessions (CSRF tokens, messages) last one run of the app
    app.config["TRUSTED_HOSTS"] = ["127.0.0.1", "localhost"]  # a rebound DNS name reaches nothing
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"  # no session cookie on cross-site posts
    app.config["SESSION_COOKIE_NAME"] = "mydata_citizen_session"  # cookies ignore ports: not the services' on 127.0.0.1
    app.extensions["citizen"] = (WalletDoor(Path(wallet_path), passphrase), endpoints)
    CSRFProtect(app)
    app.register_blueprint(citizen_pages.bp)
    readable.install(app)
    app.wsgi_app = SecurityHeaders(BodyLimits(app.wsgi_app, routes=[(r"^/cv/", AREA_MAX_BODY)]))
    return app
