"""Helpers shared by the operator's blueprints."""

from __future__ import annotations

from flask import current_app


def runtime():
    """The OperatorRuntime of the current app."""
    return current_app.extensions["operator"]
