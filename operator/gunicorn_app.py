"""Run the operator under gunicorn: several worker processes on 127.0.0.1.

Each worker builds its own app after the fork; they share the data directory, and the
log store, chain follower, anchorer and transaction locks are safe across processes.
The arbiter starts a log writer process first, which writes every worker's appends (on
PostgreSQL, as the replica's candidate for the log's sequencer).

Workers are gevent workers: each serves its connections as greenlets on one thread, so
a request waiting on the log writer, the PDS or the chain costs a greenlet switch, not
an OS thread hand-off and a fight for the GIL (releases/s rose by a quarter over
gthread workers in bench/releases.py). gunicorn patches the worker (sockets, locks,
thread-locals become greenlet-aware) before it loads the app.
"""

from __future__ import annotations

from httpkit.serving import GunicornServer

from .app import create_app
from .config import OperatorConfig
from .log import log_writer_process


class OperatorServer(GunicornServer):
    def __init__(self, config: OperatorConfig, port: int, workers: int = 2):
        self.config = log_writer_process.with_writer_socket(config)
        self.writer = None
        super().__init__(
            lambda: create_app(self.config),
            port,
            workers,
            worker_class="gevent_pywsgi",  # gevent's own HTTP handler: ~15% more requests/s than "gevent" here
            timeout=180,  # a relay waits for its transaction to be mined
            on_starting=self._start_writer,
            on_exit=self._stop_writer,
        )

    def _start_writer(self, arbiter) -> None:
        if self.config.log_writer_socket:
            self.writer = log_writer_process.start(self.config)

    def _stop_writer(self, arbiter) -> None:
        if self.writer is not None:
            log_writer_process.stop(self.writer, self.config.log_writer_socket)
