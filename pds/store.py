"""PDS storage: envelope blobs in a blob store, their metadata and wrapped keys in SQL.

A write puts the blob first (durable, named by its SHA-256), then commits its metadata in
one transaction, so a crash leaves at worst an unreferenced blob, never a version without
its data. Versions are append-only: a write adds version n+1 and never replaces an existing
one (two writers racing for n+1, on one host or two replicas: one wins, the other gets
version-conflict). The backend (storage.backends) chooses files and SQLite on one host, or
PostgreSQL for replicas.
"""

from __future__ import annotations

import hashlib
import json
import time

from ledger.errors import MyDataError
from storage.blobs import BlobStore
from storage.sql import SqlDatabase


class StoreError(MyDataError):
    """A write conflicts with what is stored, or something asked for does not exist."""

    problem_type = "store-error"

    def __init__(self, slug: str, detail: str):
        super().__init__(detail)
        self.slug = slug


class PdsStore:
    def __init__(self, db: SqlDatabase, blobs: BlobStore):
        self._db, self.blobs = db, blobs

    def add_version(self, citizen: str, area: str, version: int, key_version: int, envelope: dict, writer: str, written_by: str) -> None:
        """Store `envelope` as version `version` (must be the latest + 1)."""
        data = json.dumps(envelope, sort_keys=True).encode()
        digest = hashlib.sha256(data).hexdigest()
        self.blobs.put(citizen, digest, data)
        latest = self._latest(citizen, area)
        if version == latest + 1:
            added = self._db.execute(
                "INSERT INTO versions VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (citizen, area, version, key_version, digest, writer, written_by, time.time()),
            )
            if added:
                return
            latest = self._latest(citizen, area)  # another writer took this version first
        raise StoreError("version-conflict", f"{area} is at version {latest}; the next write must be {latest + 1}")

    def _latest(self, citizen: str, area: str) -> int:
        return self._db.rows("SELECT COALESCE(MAX(version), 0) FROM versions WHERE citizen=%s AND area=%s", (citizen, area))[0][0]

    def version(self, citizen: str, area: str, version: int | None = None) -> dict:
        """A stored version (the latest when `version` is None) with its envelope."""
        q = "SELECT version, key_version, blob, writer, written_by, created_at FROM versions WHERE citizen=%s AND area=%s"
        rows = self._db.rows(
            q + (" AND version=%s" if version else " ORDER BY version DESC LIMIT 1"),
            (citizen, area, version) if version else (citizen, area),
        )
        if not rows:
            raise StoreError("not-found", f"no {'version ' + str(version) + ' of ' if version else ''}{area} stored")
        v, key_version, digest, writer, written_by, created = rows[0]
        envelope = self._envelope(citizen, digest)
        return {"version": v, "key_version": key_version, "writer": writer, "written_by": written_by, "created_at": created, "envelope": envelope}

    def _envelope(self, citizen: str, digest: str) -> dict:
        """A stored blob, parsed only once its SHA-256 is the one its metadata names."""
        data = self.blobs.get(citizen, digest)
        if hashlib.sha256(data).hexdigest() != digest:
            raise StoreError("blob-corrupt", f"stored blob {digest[:16]}… does not match its hash")
        return json.loads(data)

    def history(self, citizen: str, area: str) -> list[dict]:
        rows = self._db.rows(
            "SELECT version, key_version, writer, written_by, created_at FROM versions WHERE citizen=%s AND area=%s ORDER BY version",
            (citizen, area),
        )
        return [dict(zip(("version", "key_version", "writer", "written_by", "created_at"), r, strict=True)) for r in rows]

    def areas(self, citizen: str) -> list[str]:
        rows = self._db.rows("SELECT DISTINCT area FROM versions WHERE citizen=%s ORDER BY area", (citizen,))
        return [r[0] for r in rows]

    def put_keys(self, citizen: str, area: str, key_version: int, wrapped: dict[str, str]) -> None:
        """Store data keys wrapped for recipients; a key version's wraps are set once per recipient."""
        with self._db.transaction() as tx:
            for recipient, blob in wrapped.items():
                tx.execute("INSERT INTO wrapped_keys VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING", (citizen, area, key_version, recipient, blob))

    def wrapped_key(self, citizen: str, area: str, key_version: int, recipient: str) -> str:
        rows = self._db.rows(
            "SELECT wrapped FROM wrapped_keys WHERE citizen=%s AND area=%s AND key_version=%s AND recipient=%s",
            (citizen, area, key_version, recipient),
        )
        if not rows:
            raise StoreError("not-shared", f"no key version {key_version} of {area} is wrapped for {recipient}")
        return rows[0][0]

    def erase(self, citizen: str) -> None:
        """Delete every version, blob and wrapped key of a citizen, for good."""
        self._db.erase([("DELETE FROM versions WHERE citizen=%s", (citizen,)), ("DELETE FROM wrapped_keys WHERE citizen=%s", (citizen,))])
        self.blobs.erase(citizen)
