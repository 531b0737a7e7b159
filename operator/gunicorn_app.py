"""Run the operator under gunicorn: several worker processes on 127.0.0.1.

Each worker builds its own app after the fork; they share the data directory, and the
log store, chain follower, anchorer and transaction locks are safe across processes.
"""

from __future__ import annotations

from gunicorn.app.base import BaseApplication

from .app import create_app
from .config import OperatorConfig


class OperatorServer(BaseApplication):
    def __init__(self, config: OperatorConfig, port: int, workers: int = 2, threads: int = 8):
        self.config = config
        self.options = {
            "bind": f"127.0.0.1:{port}",
            "workers": workers,
            "worker_class": "gthread",
            "threads": threads,
            "timeout": 180,  # a relay waits for its transaction to be mined
            "graceful_timeout": 10,
            "accesslog": None,
            "loglevel": "warning",
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return create_app(self.config)
