"""Releases (`GET /v1/citizens/<citizen>/areas/<area>`) served as a bare WSGI route ahead of Flask.

A release is the operator's hot path. Flask's request context, routing and response
objects cost ~0.1 ms per request, a tenth of a release's CPU on two cores
(bench/releases.py), so this route answers from WSGI directly with the same
framework-free code the Flask routes use (data_access). Every other request goes on to Flask.
"""

from __future__ import annotations

import json
import logging
import re
from http import HTTPStatus

from werkzeug.exceptions import InternalServerError
from werkzeug.wrappers import Request

from httpkit.problems import Problem, from_error, from_http_exception
from ledger.errors import MyDataError

from ..access.data_access import release_area

log = logging.getLogger(__name__)

RELEASE_PATH = re.compile(r"^/v1/citizens/([^/]+)/areas/([^/]+)$")  # as Flask's <citizen>/<area>


class ReleaseRoute:
    """WSGI middleware: releases here, everything else to `app` (the Flask WSGI app)."""

    def __init__(self, app, rt):
        self.app, self.rt = app, rt

    def __call__(self, environ, start_response):
        m = RELEASE_PATH.match(environ.get("PATH_INFO", ""))
        if m is None or environ["REQUEST_METHOD"] != "GET":
            return self.app(environ, start_response)
        try:
            status, doc, media_type = 200, release_area(self.rt, Request(environ), *m.groups()), "application/json"
        except MyDataError as exc:  # a refusal (Problem), or an expected failure such as the database being away
            p = exc if isinstance(exc, Problem) else from_error(exc)
            status, doc, media_type = p.status, p.document(), "application/problem+json"
        except Exception:
            log.exception("release failed")
            p = from_http_exception(InternalServerError())
            status, doc, media_type = p.status, p.document(), "application/problem+json"
        body = json.dumps(doc, separators=(",", ":")).encode()
        start_response(f"{status} {HTTPStatus(status).phrase}", [("Content-Type", media_type), ("Content-Length", str(len(body)))])
        return [body]
