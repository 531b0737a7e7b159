"""Flask app factory of the operator."""

from __future__ import annotations

from flask import Flask, Response, jsonify

from httpkit import problems
from httpkit.http_limits import AREA_MAX_BODY, BodyLimits

from . import metrics
from .config import OperatorConfig
from .http import consent_api, data_api, gdpr_api, history_api, ledger_api, log_api
from .http.openapi import OPENAPI
from .http.release_route import ReleaseRoute
from .runtime import OperatorRuntime

AREA_WRITE = r"^/v1/citizens/[^/]+/areas/[^/]+/versions$"  # the one route that carries a CV area


def _metrics() -> Response:
    body, content_type = metrics.exposition()
    return Response(body, content_type=content_type)


def create_app(config: OperatorConfig, runtime: OperatorRuntime | None = None) -> Flask:
    app = Flask("consent_operator")
    rt = app.extensions["operator"] = runtime or OperatorRuntime.start(config)
    problems.install(app)
    app.register_blueprint(log_api.bp)
    app.register_blueprint(ledger_api.bp)
    app.register_blueprint(consent_api.bp)
    app.register_blueprint(data_api.bp)
    app.register_blueprint(history_api.bp)
    app.register_blueprint(gdpr_api.bp)
    app.add_url_rule("/openapi.json", "openapi", lambda: jsonify(OPENAPI))
    app.add_url_rule("/metrics", "metrics", _metrics)
    app.wsgi_app = ReleaseRoute(app.wsgi_app, rt)  # releases skip Flask (the hot path)
    app.wsgi_app = BodyLimits(app.wsgi_app, routes=[(AREA_WRITE, AREA_MAX_BODY)])  # before anything reads a body
    return app
