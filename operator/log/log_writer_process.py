"""The operator's log writer process (ledger/log_writer.py), started beside gunicorn's workers.

gunicorn's arbiter starts it before forking the workers and stops it after they exit; the
workers send their appends to it. If it is gone, workers commit themselves (slower).
Run as `python -m consent_operator.log.log_writer_process DATA_DIR LOG_DB ORIGIN SOCKET`.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from consent_operator.log.log_writer import MAX_SOCKET_PATH, LogWriterServer
from storage.database import database_url, is_postgres
from storage.sqlite.log import SqliteLog

from .. import keystore
from ..config import OperatorConfig


def with_writer_socket(config: OperatorConfig) -> OperatorConfig:
    """The config with its writer socket in the data directory, unless that path is too
    long for a Unix socket (then workers commit themselves), or the log is in a database
    that replicas share (which serialises the appends of all of them itself)."""
    path = config.data_dir.resolve() / "log-writer.sock"
    usable = len(str(path)) <= MAX_SOCKET_PATH and not is_postgres(database_url(config.database_url))
    return dataclasses.replace(config, log_writer_socket=path if usable else None)


def start(config: OperatorConfig, timeout: float = 30.0) -> subprocess.Popen:
    """Start the writer for `config.log_writer_socket` and wait until it accepts connections."""
    args = [str(config.data_dir), str(config.log_db), config.log_origin, str(config.log_writer_socket)]
    proc = subprocess.Popen([sys.executable, "-m", __name__, *args])
    deadline = time.monotonic() + timeout
    while not _accepts(config.log_writer_socket):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            raise RuntimeError(f"the log writer did not start (exit code {proc.returncode})")
        time.sleep(0.05)
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(10)


def _accepts(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        try:
            s.connect(str(path))
        except OSError:
            return False
    return True


def _serve(data_dir: Path, log_db: Path, origin: str, socket_path: Path) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the arbiter, which stops us after the workers
    server = LogWriterServer(SqliteLog(log_db, origin, keystore.log_signer(data_dir, origin)), socket_path)
    signal.signal(signal.SIGTERM, lambda *_: server.stop())
    threading.Thread(target=_stop_when_orphaned, args=(server, os.getppid()), daemon=True).start()
    server.serve_forever()


def _stop_when_orphaned(server: LogWriterServer, parent: int) -> None:
    """Stop if the arbiter died without stopping us (e.g. SIGKILL)."""
    while os.getppid() == parent:
        time.sleep(0.5)
    server.stop()


if __name__ == "__main__":
    _serve(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4]))
