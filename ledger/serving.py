"""Serving WSGI apps on 127.0.0.1: threaded, HTTP/1.1 keep-alive, request logs off."""

from __future__ import annotations

import logging

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class KeepAliveHandler(WSGIRequestHandler):
    """HTTP/1.1 keeps client connections open between requests."""

    protocol_version = "HTTP/1.1"


def loopback_server(app, port: int = 0) -> BaseWSGIServer:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    return make_server("127.0.0.1", port, app, threaded=True, request_handler=KeepAliveHandler)
