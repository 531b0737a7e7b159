"""Limits at every door: a request body's size and its JSON nesting are checked before any
application code reads or parses it.

A WSGI middleware, so it guards Flask apps and bare WSGI routes alike. It reads at most
`limit + 1` bytes of a body (Content-Length or chunked), answers 413 `body-too-large`
past the route's limit and 400 `json-too-deep` when brackets nest deeper than
`max_depth` (deep nesting exhausts the parser's C stack: one such request used to kill a
server process). The depth check runs at C speed: string literals are cut out by one
regular expression, everything but brackets is deleted, and innermost `[]`/`{}` pairs
are removed `max_depth` times; whatever remains nests too deep (or does not balance,
which no JSON parser would accept either).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Sequence
from http import HTTPStatus

from .problems import Problem

DEFAULT_MAX_BODY = 64 * 1024  # signed API calls, grants, approvals: a few KB each
AREA_MAX_BODY = 1024 * 1024  # one encrypted CV area version
MAX_DEPTH = 32  # JSON Resume areas nest 4 deep; records and receipts 6

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_INNERMOST = re.compile(rb"\[\]|\{\}")  # one pass strips exactly one level of nesting


def nests_deeper_than(body: bytes, max_depth: int) -> bool:
    """Whether the JSON text `body` nests arrays/objects deeper than `max_depth` (or its
    brackets do not balance)."""
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKET)
    for _ in range(max_depth):
        if not brackets:
            return False
        brackets = _INNERMOST.sub(b"", brackets)
    return bool(brackets)


def _answer(start_response, problem: Problem) -> list[bytes]:
    body = json.dumps(problem.document(), separators=(",", ":")).encode()
    start_response(
        f"{problem.status} {HTTPStatus(problem.status).phrase}",
        [("Content-Type", "application/problem+json"), ("Content-Length", str(len(body))), ("Connection", "close")],
    )
    return [body]


def too_large(limit: int) -> Problem:
    return Problem(413, "body-too-large", "Request body too large", f"this route takes at most {limit} bytes")


class BodyLimits:
    """WSGI middleware: `routes` are (path regex, byte limit) pairs tried in order, the
    first match wins; any other path takes `max_body`."""

    def __init__(self, app, max_body: int = DEFAULT_MAX_BODY, routes: Sequence[tuple[str, int]] = (), max_depth: int = MAX_DEPTH):
        self.app = app
        self.max_body = max_body
        self.routes = [(re.compile(pattern), limit) for pattern, limit in routes]
        self.max_depth = max_depth

    def limit_for(self, path: str) -> int:
        return next((limit for pattern, limit in self.routes if pattern.search(path)), self.max_body)

    def __call__(self, environ, start_response):
        length_header = environ.get("CONTENT_LENGTH") or ""
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if not length_header and not chunked:
            return self.app(environ, start_response)  # no body (every release): nothing to check
        limit = self.limit_for(environ.get("PATH_INFO", ""))
        if length_header:
            if not length_header.isascii() or not length_header.isdigit():
                return _answer(start_response, Problem(400, "bad-request", "Bad request", "Content-Length is not a number"))
            if int(length_header) > limit:
                return _answer(start_response, too_large(limit))
        body = _read(environ["wsgi.input"], int(length_header) if length_header else limit + 1)
        if len(body) > limit:
            return _answer(start_response, too_large(limit))
        if body.lstrip()[:1] in (b"[", b"{") or b"json" in environ.get("CONTENT_TYPE", "").encode("latin-1"):
            if nests_deeper_than(body, self.max_depth):
                return _answer(start_response, Problem(400, "json-too-deep", "JSON nested too deep", f"JSON may nest at most {self.max_depth} levels"))
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ["wsgi.input_terminated"] = True
        return self.app(environ, start_response)


def _read(stream, at_most: int) -> bytes:
    """Up to `at_most` bytes of a body stream (fewer if it ends first)."""
    parts, left = [], at_most
    while left > 0:
        chunk = stream.read(min(left, 64 * 1024))
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)
