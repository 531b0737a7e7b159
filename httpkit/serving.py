"""Serving WSGI apps on 127.0.0.1: under gunicorn for the services (a supervising arbiter
restarts any worker that dies), or werkzeug's threaded server for apps on the citizen's
own machine and for tests."""

from __future__ import annotations

import logging
from collections.abc import Callable

from gunicorn.app.base import BaseApplication
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class KeepAliveHandler(WSGIRequestHandler):
    """Answers in HTTP/1.1 (werkzeug 3 still closes each connection after its response:
    a server whose clients call it many times a second belongs under gunicorn)."""

    protocol_version = "HTTP/1.1"


def loopback_server(app, port: int = 0) -> BaseWSGIServer:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    return make_server("127.0.0.1", port, app, threaded=True, request_handler=KeepAliveHandler)


class GunicornServer(BaseApplication):
    """A WSGI app built by `factory` in each worker (after the fork), served by gunicorn on
    127.0.0.1:port. The arbiter replaces a worker that dies (a crash, a kill), so one bad
    request can never take the service down. `options` are gunicorn settings."""

    def __init__(self, factory: Callable[[], object], port: int, workers: int = 2, **options):
        self.factory = factory
        self.options = {
            "bind": f"127.0.0.1:{port}",
            "workers": workers,
            "worker_class": "gthread",
            "threads": 4,
            "graceful_timeout": 10,
            "accesslog": None,
            "loglevel": "warning",
            **options,
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return self.factory()
