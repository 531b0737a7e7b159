"""Helpers shared by the operator's blueprints."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app

if TYPE_CHECKING:
    from ..runtime import OperatorRuntime


def runtime() -> OperatorRuntime:
    """The OperatorRuntime of the current app."""
    rt: OperatorRuntime = current_app.extensions["operator"]
    return rt
