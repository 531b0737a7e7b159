"""The backend a database URL names, as one object that opens each store the services use.

`open_backend(url, folder)`: no URL (or `sqlite:///folder`) gives SQLite files in the
folder, for one host; `postgresql://…` gives the shared PostgreSQL database of replicas.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from limits.storage import MemoryStorage, Storage

from ledger.request_auth import ReplayStore
from ledger.tlog.note import Signer

from .blobs import BlobStore
from .database import database_url, is_postgres, redacted
from .directory import Directory
from .errors import DatabaseUrlError
from .log import Committer, LogStore
from .outbox import Outbox
from .sql import SqlDatabase


class SchemaOutdated(DatabaseUrlError):
    """The database lacks migrations this code needs: run `mydata db migrate`."""

    problem_type = "schema-outdated"


class Leadership(Protocol):
    """A lock held for the life of a process; `alive` turns False if it was lost."""

    def alive(self) -> bool: ...

    def release(self) -> None: ...


class Backend(Protocol):
    name: str

    def replay_store(self) -> ReplayStore: ...

    def rate_counters(self) -> Storage: ...

    def log(self, origin: str, signer: Signer, writer: Committer | None = None) -> LogStore: ...

    def directory(self) -> Directory: ...

    def outbox(self) -> Outbox:
        """The notifications to services, beside the directory (storage/outbox.py)."""
        ...

    def pds_tables(self) -> SqlDatabase:
        """The PDS's versions and wrapped keys (pds/store.py)."""
        ...

    def blobs(self) -> BlobStore: ...

    def lock(self, name: str) -> AbstractContextManager[object]:
        """A lock that excludes every other process and replica on this backend (re-entrant
        within one thread of this lock object: keep one object per purpose)."""
        ...

    def try_hold(self, name: str) -> Leadership | None:
        """`name` for the life of this process if nobody holds it (None otherwise)."""
        ...

    def migrate(self) -> list[str]: ...

    def check_schema(self) -> None: ...

    def close(self) -> None:
        """Let go of this process's connections (and with them any lock its sessions hold)."""
        ...


class SqliteBackend:
    """SQLite files in `folder`; each store creates its own schema when opened. Rate-limit
    counters live in each process's memory (one host: W workers admit W budgets)."""

    name = "sqlite"

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def replay_store(self) -> ReplayStore:
        from .sqlite.replay import SqliteReplayStore

        return SqliteReplayStore(self.folder / "nonces.sqlite")

    def rate_counters(self) -> Storage:
        return MemoryStorage()

    def log(self, origin: str, signer: Signer, writer: Committer | None = None) -> LogStore:
        from .sqlite.log import SqliteLog

        return SqliteLog(self.folder / "log.sqlite", origin, signer, writer)

    def directory(self) -> Directory:
        return Directory(self._sql("operator.sqlite", "directory.sql"))

    def outbox(self) -> Outbox:
        return Outbox(self._sql("operator.sqlite", "directory.sql"))

    def pds_tables(self) -> SqlDatabase:
        return self._sql("pds.sqlite", "pds.sql")

    def blobs(self) -> BlobStore:
        from .blobs import FileBlobs

        return FileBlobs(self.folder / "blobs")

    def _sql(self, file: str, schema: str) -> SqlDatabase:
        """The SQLite file `file` in the folder, created with storage/sqlite/`schema`."""
        from importlib import resources

        from .sqlite.sql import SqliteSql

        return SqliteSql(self.folder / file, resources.files(__package__).joinpath("sqlite", schema).read_text())

    def lock(self, name: str) -> AbstractContextManager[object]:
        from .locks import InterProcessLock

        return InterProcessLock(self.folder / f"{name}.lock")

    def try_hold(self, name: str) -> Leadership | None:
        from .locks import try_hold

        return try_hold(self.folder / f"{name}.lock")

    def migrate(self) -> list[str]:
        return []

    def check_schema(self) -> None:
        return None

    def close(self) -> None:
        return None  # each store opens its SQLite connections per thread and use


class PostgresBackend:
    """One PostgreSQL database shared by every replica (connections pooled per process)."""

    name = "postgresql"

    def __init__(self, url: str):
        from .postgres.locks import LeadershipSession
        from .postgres.pool import PostgresDatabase

        self.db = PostgresDatabase(url)
        self._leadership = LeadershipSession(self.db)

    def replay_store(self) -> ReplayStore:
        from .postgres.replay import PostgresReplayStore

        return PostgresReplayStore(self.db)

    def rate_counters(self) -> Storage:
        from .postgres.rate_counters import PostgresCounters

        return PostgresCounters(self.db)

    def log(self, origin: str, signer: Signer, writer: Committer | None = None) -> LogStore:
        """The log every replica appends to, written by one sequencer (through `writer`, the
        replica's log writer process, if it has one)."""
        from .postgres.log import PostgresLog

        return PostgresLog(self.db, origin, signer, writer)

    def directory(self) -> Directory:
        return Directory(self._sql())

    def outbox(self) -> Outbox:
        return Outbox(self._sql())

    def pds_tables(self) -> SqlDatabase:
        return self._sql()

    def _sql(self) -> SqlDatabase:
        from .postgres.sql import PostgresSql

        return PostgresSql(self.db)

    def blobs(self) -> BlobStore:
        from .postgres.blobs import PostgresBlobs

        return PostgresBlobs(self.db)

    def lock(self, name: str) -> AbstractContextManager[object]:
        from .postgres.locks import AdvisoryLock

        return AdvisoryLock(self.db, name)

    def try_hold(self, name: str) -> Leadership | None:
        return self._leadership.try_hold(name)

    def migrate(self) -> list[str]:
        from .postgres.migrate import migrate

        return migrate(self.db)

    def check_schema(self) -> None:
        """Refuse to serve on a database older than this code (SchemaOutdated)."""
        from .postgres.migrate import applied, migrations

        missing = sorted({version for version, _, _ in migrations()} - set(applied(self.db)))
        if missing:
            raise SchemaOutdated(
                f"the database at {redacted(self.db.url)} lacks schema migrations {missing}: run `mydata db migrate`"
            )

    def close(self) -> None:
        self.db.close()


def open_backend(url: str | None, folder: Path) -> Backend:
    """The backend of `url` (see storage.database), SQLite in `folder` when there is none."""
    url = database_url(url)
    if is_postgres(url):
        assert url is not None
        return PostgresBackend(url)
    if url is not None:
        path = urlsplit(url).path
        if not path:
            raise DatabaseUrlError("a sqlite URL names a folder: sqlite:///path/to/folder")
        folder = Path(path)
    return SqliteBackend(folder)
