"""The operator's log writer process (log/log_writer.py), started beside gunicorn's workers.

gunicorn's arbiter starts it before forking the workers and stops it after they exit; the
workers send their appends to it. If it is gone, workers append themselves (slower).
On SQLite it commits for the host; on PostgreSQL it is its replica's way to the log's
sequencer, and the candidate for the sequencer's lock, so a replica's appends reach the
database as one batch and the sequencer runs in a process that serves no requests.
Each arbiter has its own writer, on a socket in a private temporary folder: two operators
on one host (even over one data directory) never share one.
Run as `python -m consent_operator.log.log_writer_process DATA_DIR ORIGIN SOCKET`, with the
database's URL (if any) in MYDATA_DATABASE_URL.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from consent_operator.log.log_writer import MAX_SOCKET_PATH, LogWriterServer
from storage.backends import open_backend
from storage.database import ENV

from .. import keystore
from ..config import OperatorConfig


def with_writer_socket(config: OperatorConfig) -> OperatorConfig:
    """The config with its writer socket in a new private temporary folder, unless that
    path is too long for a Unix socket (then workers append themselves)."""
    path = Path(tempfile.mkdtemp(prefix="mydata-log-")) / "writer.sock"
    if len(str(path)) > MAX_SOCKET_PATH:
        path.parent.rmdir()
        return config
    return dataclasses.replace(config, log_writer_socket=path)


def start(config: OperatorConfig, timeout: float = 30.0) -> subprocess.Popen:
    """Start the writer for `config.log_writer_socket` and wait until it accepts connections."""
    assert config.log_writer_socket is not None
    env = {**os.environ, **({ENV: config.database_url} if config.database_url else {})}  # not in argv, where ps shows it
    proc = subprocess.Popen([sys.executable, "-m", __name__, str(config.data_dir), config.log_origin, str(config.log_writer_socket)], env=env)
    deadline = time.monotonic() + timeout
    while not _accepts(config.log_writer_socket):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc, config.log_writer_socket)
            raise RuntimeError(f"the log writer did not start (exit code {proc.returncode})")
        time.sleep(0.05)
    return proc


def stop(proc: subprocess.Popen, socket_path: Path) -> None:
    """Stop the writer and remove its socket's folder."""
    proc.terminate()
    proc.wait(10)
    _remove_socket_folder(socket_path)


def _remove_socket_folder(socket_path: Path) -> None:
    """Remove the socket and its folder if nothing else is in it (with_writer_socket made it
    for this writer alone; a folder holding anything else is not ours to delete)."""
    socket_path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        socket_path.parent.rmdir()


def _accepts(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        try:
            s.connect(str(path))
        except OSError:
            return False
    return True


def _serve(data_dir: Path, origin: str, socket_path: Path) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the arbiter, which stops us after the workers
    backend = open_backend(None, data_dir)  # the database in MYDATA_DATABASE_URL, else SQLite in the data directory
    server = LogWriterServer(backend.log(origin, keystore.log_signer(data_dir, origin)), socket_path)
    signal.signal(signal.SIGTERM, lambda *_: server.stop())
    threading.Thread(target=_stop_when_orphaned, args=(server, os.getppid()), daemon=True).start()
    server.serve_forever()
    _remove_socket_folder(socket_path)  # (the arbiter does too, unless it died first)


def _stop_when_orphaned(server: LogWriterServer, parent: int) -> None:
    """Stop if the arbiter died without stopping us (e.g. SIGKILL)."""
    while os.getppid() == parent:
        time.sleep(0.5)
    server.stop()


if __name__ == "__main__":
    _serve(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]))
