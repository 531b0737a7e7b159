"""RFC 9457 problem details: every HTTP error of the operator and the PDS is
application/problem+json with a stable `type`."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from ledger.errors import MyDataError

log = logging.getLogger(__name__)

TYPE_BASE = "https://mydata.localhost/problems/"


class Problem(MyDataError):
    """An HTTP answer decided by a handler: status, problem type (`slug`), title and detail."""

    problem_type = "http-problem"  # each instance carries its own slug

    def __init__(self, status: int, slug: str, title: str, detail: str = "", **extra):
        super().__init__(detail or title)
        self.status, self.slug, self.title, self.detail, self.extra = status, slug, title, detail, extra
        self.problem_type = slug

    def document(self) -> dict:
        """The RFC 9457 problem details object."""
        body = {"type": TYPE_BASE + self.slug, "title": self.title, "status": self.status, **self.extra}
        if self.detail:
            body["detail"] = self.detail
        return body

    def response(self):
        resp = jsonify(self.document())
        resp.status_code = self.status
        resp.mimetype = "application/problem+json"
        return resp


def bad_request(detail: str, **extra) -> Problem:
    return Problem(400, "bad-request", "Bad request", detail, **extra)


def from_http_exception(exc: HTTPException) -> Problem:
    """A Werkzeug HTTP error (404, 405, 500, …) as a problem whose slug is its name."""
    slug = (exc.name or "error").lower().replace(" ", "-")
    return Problem(exc.code or 500, slug, exc.name or "Error", exc.description or "")


# The HTTP status of each problem type a MyDataError can carry; any other is a 500.
STATUS = {
    "bad-request": 400, "invalid-record": 400, "invalid-proof": 400, "invalid-note": 400, "invalid-checkpoint": 400,
    "invalid-tlog-proof": 400, "invalid-entry": 400, "invalid-envelope": 400, "invalid-resume": 400, "invalid-receipt": 400, "invalid-signature": 400,
    "invalid-agreement": 400,
    "unauthorized": 401, "replayed-request": 401, "tile-not-found": 404,
    "chain-unavailable": 502, "pds-error": 502, "log-writer-unavailable": 503, "log-writer-lost": 503, "log-sequencer-unavailable": 503,
    "storage-unavailable": 503,
}


def from_error(exc: MyDataError) -> Problem:
    """The one mapping of the error hierarchy to HTTP: the class's problem type, its status."""
    status = STATUS.get(exc.problem_type, 500)
    if status >= 500:
        log.error("%s: %s", type(exc).__name__, exc)
    return Problem(status, exc.problem_type, type(exc).__name__, str(exc))


def install(app: Flask) -> None:
    app.register_error_handler(Problem, lambda p: p.response())
    app.register_error_handler(MyDataError, lambda exc: from_error(exc).response())
    app.register_error_handler(HTTPException, lambda exc: from_http_exception(exc).response())
