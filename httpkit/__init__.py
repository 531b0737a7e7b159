"""What every HTTP server of the project shares, above the ledger library and below the
services: RFC 9457 problems (problems), request bodies checked against their JSON Schemas
(json_bodies), body-size and JSON-depth limits (http_limits), security headers
(http_headers), and serving on loopback or under gunicorn (serving)."""
