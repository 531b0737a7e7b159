"""A throwaway PostgreSQL server for the tests, `mydata up` and the benches.

`initdb` into a fresh folder, `pg_ctl start` on a free loopback port, and at the end
`pg_ctl stop` and the folder removed. PostgreSQL refuses to run as root, and CI runs as
root: then the server runs as the `postgres` OS user (`runuser -u postgres --`), with the
folder owned by it. Debian's `postgresql` package provides the binaries (scripts/setup
installs it); they live in /usr/lib/postgresql/<major>/bin, outside PATH.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .nodes import StartupError, free_port

SERVICE_USER = "postgres"


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(Path(p).parts[4]))
    path = found[-1] if found else shutil.which(name)
    if path is None:
        raise StartupError(f"PostgreSQL's {name} is not installed (Debian package postgresql; scripts/setup installs it)")
    return path


def _as_service_user() -> list[str]:
    """The command prefix that runs a PostgreSQL binary as a user it accepts."""
    return ["runuser", "-u", SERVICE_USER, "--"] if os.geteuid() == 0 else []


class PostgresServer:
    """One PostgreSQL cluster on 127.0.0.1 only, trusting local connections (nothing else
    can reach it), in a temporary folder (removed at the end) or in `folder` (kept, and
    started again on the next run). Use as a context manager or start()/stop()."""

    def __init__(self, port: int | None = None, folder: Path | None = None):
        self.port = port or free_port()
        self.keep = folder is not None
        self.folder = folder.resolve() if folder else Path(tempfile.mkdtemp(prefix="mydata-pg-"))
        self.data = self.folder / "data"

    @property
    def user(self) -> str:
        return SERVICE_USER if os.geteuid() == 0 else os.environ.get("USER", "postgres")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def socket_url(self, database: str = "postgres") -> str:
        """The URL of `database` over the server's Unix socket (for clients on this host)."""
        return f"postgresql://{self.user}@:{self.port}/{database}?host={self.folder}"

    def start(self) -> PostgresServer:
        prefix = _as_service_user()
        self.folder.mkdir(parents=True, exist_ok=True)
        if prefix:
            shutil.chown(self.folder, SERVICE_USER, SERVICE_USER)
        if not (self.data / "PG_VERSION").exists():
            self._run([*prefix, _bin("initdb"), "-D", str(self.data), "-U", self.user, "--auth=trust", "-E", "UTF8", "--no-instructions"])
        self.resume()
        return self

    def resume(self) -> None:
        """Start the server on its folder (again, after `stop`)."""
        options = f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.folder} -c max_connections=200"
        self._run([*_as_service_user(), _bin("pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "server.log"), "-o", options, "-w", "-t", "60", "start"])

    def create_database(self, name: str) -> str:
        """Create database `name` (unless it exists) and return its URL."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (`immediate` is a crash: no shutdown checkpoint)."""
        subprocess.run([*_as_service_user(), _bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"], capture_output=True)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        if self.keep:
            self.stop()
        else:
            self.remove()

    def _run(self, command: list[str]) -> None:
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.folder)
        if done.returncode != 0:
            log = self.folder / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise StartupError(f"{Path(command[len(_as_service_user())]).name} failed: {done.stderr.strip()} {tail}".strip())
