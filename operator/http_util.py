"""Helpers shared by the operator's blueprints."""

from __future__ import annotations

from flask import current_app, request

from ledger.problems import bad_request


def runtime():
    """The OperatorRuntime of the current app."""
    return current_app.extensions["operator"]


def json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise bad_request("request body must be a JSON object")
    return body
