"""Browser-facing security headers for the web apps (citizen app, auditor view, CV service).

A WSGI middleware that adds, to every response that does not set its own:
Content-Security-Policy (scripts and everything else from the app's own origin only,
inline styles allowed for the server-rendered SVG charts and QR codes, no framing, forms
post only to the app itself), X-Frame-Options (for browsers without frame-ancestors),
X-Content-Type-Options, Referrer-Policy and a Permissions-Policy that turns off what no
page here uses.
"""

from __future__ import annotations

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"),
)


class SecurityHeaders:
    """WSGI middleware adding HEADERS to every response."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        def start(status, headers, exc_info=None):
            present = {name.lower() for name, _ in headers}
            return start_response(status, [*headers, *((n, v) for n, v in HEADERS if n.lower() not in present)], exc_info)

        return self.app(environ, start)
