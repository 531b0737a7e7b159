"""PDS storage: envelope blobs as files, their metadata and wrapped keys in SQLite.

A write puts the blob file first (fsynced, named by its SHA-256), then commits its
metadata in one transaction, so a crash leaves at worst an unreferenced blob, never a
version without its data. Versions are append-only: a write adds version n+1 and never
replaces an existing one.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import time
from pathlib import Path

from ledger.durable import write_atomic
from ledger.errors import MyDataError
from storage.sqlite.connections import ThreadLocalConnections, Writer

SCHEMA = """
CREATE TABLE IF NOT EXISTS versions (
    citizen TEXT NOT NULL, area TEXT NOT NULL, version INTEGER NOT NULL, key_version INTEGER NOT NULL,
    blob TEXT NOT NULL, writer TEXT NOT NULL, written_by TEXT NOT NULL, created_at REAL NOT NULL,
    PRIMARY KEY (citizen, area, version)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS wrapped_keys (
    citizen TEXT NOT NULL, area TEXT NOT NULL, key_version INTEGER NOT NULL, recipient TEXT NOT NULL,
    wrapped TEXT NOT NULL, PRIMARY KEY (citizen, area, key_version, recipient)) WITHOUT ROWID;
"""


class StoreError(MyDataError):
    """A write conflicts with what is stored, or something asked for does not exist."""

    problem_type = "store-error"

    def __init__(self, slug: str, detail: str):
        super().__init__(detail)
        self.slug = slug


class PdsStore:
    def __init__(self, data_dir: str | Path):
        self.data_dir = Path(data_dir)
        self.blobs = self.data_dir / "blobs"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self._writer = Writer(self.data_dir / "pds.sqlite", SCHEMA)
        self._readers = ThreadLocalConnections(self.data_dir / "pds.sqlite")

    def _db(self) -> sqlite3.Connection:
        return self._readers.get()

    def _blob_path(self, citizen: str, digest: str) -> Path:
        return self.blobs / hashlib.sha256(citizen.encode()).hexdigest()[:32] / digest

    def add_version(self, citizen: str, area: str, version: int, key_version: int, envelope: dict, writer: str, written_by: str) -> None:
        """Store `envelope` as version `version` (must be the latest + 1)."""
        data = json.dumps(envelope, sort_keys=True).encode()
        digest = hashlib.sha256(data).hexdigest()
        write_atomic(self._blob_path(citizen, digest), data)
        with self._writer.transaction() as conn:
            latest = conn.execute(
                "SELECT COALESCE(MAX(version), 0) FROM versions WHERE citizen=? AND area=?", (citizen, area)
            ).fetchone()[0]
            if version != latest + 1:
                raise StoreError("version-conflict", f"{area} is at version {latest}; the next write must be {latest + 1}")
            conn.execute(
                "INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (citizen, area, version, key_version, digest, writer, written_by, time.time()),
            )

    def version(self, citizen: str, area: str, version: int | None = None) -> dict:
        """A stored version (the latest when `version` is None) with its envelope."""
        q = "SELECT version, key_version, blob, writer, written_by, created_at FROM versions WHERE citizen=? AND area=?"
        row = self._db().execute(
            q + (" AND version=?" if version else " ORDER BY version DESC LIMIT 1"),
            (citizen, area, version) if version else (citizen, area),
        ).fetchone()
        if row is None:
            raise StoreError("not-found", f"no {'version ' + str(version) + ' of ' if version else ''}{area} stored")
        v, key_version, digest, writer, written_by, created = row
        envelope = self._envelope(citizen, digest)
        return {"version": v, "key_version": key_version, "writer": writer, "written_by": written_by, "created_at": created, "envelope": envelope}

    def _envelope(self, citizen: str, digest: str) -> dict:
        """A stored blob, parsed only once its SHA-256 is the one its metadata names."""
        data = self._blob_path(citizen, digest).read_bytes()
        if hashlib.sha256(data).hexdigest() != digest:
            raise StoreError("blob-corrupt", f"stored blob {digest[:16]}… does not match its hash")
        return json.loads(data)

    def history(self, citizen: str, area: str) -> list[dict]:
        rows = self._db().execute(
            "SELECT version, key_version, writer, written_by, created_at FROM versions WHERE citizen=? AND area=? ORDER BY version",
            (citizen, area),
        )
        return [dict(zip(("version", "key_version", "writer", "written_by", "created_at"), r, strict=True)) for r in rows]

    def areas(self, citizen: str) -> list[str]:
        rows = self._db().execute("SELECT DISTINCT area FROM versions WHERE citizen=? ORDER BY area", (citizen,))
        return [r[0] for r in rows]

    def put_keys(self, citizen: str, area: str, key_version: int, wrapped: dict[str, str]) -> None:
        """Store data keys wrapped for recipients; a key version's wraps are set once per recipient."""
        with self._writer.transaction() as conn:
            for recipient, blob in wrapped.items():
                conn.execute(
                    "INSERT OR IGNORE INTO wrapped_keys VALUES (?, ?, ?, ?, ?)", (citizen, area, key_version, recipient, blob)
                )

    def wrapped_key(self, citizen: str, area: str, key_version: int, recipient: str) -> str:
        row = self._db().execute(
            "SELECT wrapped FROM wrapped_keys WHERE citizen=? AND area=? AND key_version=? AND recipient=?",
            (citizen, area, key_version, recipient),
        ).fetchone()
        if row is None:
            raise StoreError("not-found", f"no key version {key_version} of {area} is wrapped for {recipient}")
        return row[0]

    def erase(self, citizen: str) -> None:
        """Delete every version, blob and wrapped key of a citizen, for good."""
        self._writer.erase([("DELETE FROM versions WHERE citizen=?", (citizen,)), ("DELETE FROM wrapped_keys WHERE citizen=?", (citizen,))])
        shutil.rmtree(self._blob_path(citizen, "x").parent, ignore_errors=True)
