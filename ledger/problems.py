"""RFC 9457 problem details: every HTTP error of the operator and the PDS is
application/problem+json with a stable `type`."""

from __future__ import annotations

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

TYPE_BASE = "https://mydata.localhost/problems/"


class Problem(Exception):
    def __init__(self, status: int, slug: str, title: str, detail: str = "", **extra):
        super().__init__(detail or title)
        self.status, self.slug, self.title, self.detail, self.extra = status, slug, title, detail, extra

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


def install(app: Flask) -> None:
    app.register_error_handler(Problem, lambda p: p.response())
    app.register_error_handler(HTTPException, lambda exc: from_http_exception(exc).response())
