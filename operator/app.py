"""Flask app factory of the operator."""

from __future__ import annotations

from flask import Flask, jsonify

from ledger import problems

from . import consent_api, data_api, gdpr_api, history_api, ledger_api, log_api
from .config import OperatorConfig
from .openapi import OPENAPI
from .release_route import ReleaseRoute
from .runtime import OperatorRuntime


def create_app(config: OperatorConfig, runtime: OperatorRuntime | None = None) -> Flask:
    app = Flask("consent_operator")
    rt = app.extensions["operator"] = runtime or OperatorRuntime(config)
    problems.install(app)
    app.register_blueprint(log_api.bp)
    app.register_blueprint(ledger_api.bp)
    app.register_blueprint(consent_api.bp)
    app.register_blueprint(data_api.bp)
    app.register_blueprint(history_api.bp)
    app.register_blueprint(gdpr_api.bp)
    app.get("/openapi.json")(lambda: jsonify(OPENAPI))
    app.wsgi_app = ReleaseRoute(app.wsgi_app, rt)  # releases skip Flask (the hot path)
    return app
