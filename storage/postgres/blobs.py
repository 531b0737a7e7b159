"""Blobs in PostgreSQL (migration 0004), so every PDS replica reads what any one wrote."""

from __future__ import annotations

from .pool import PostgresDatabase


class PostgresBlobs:
    def __init__(self, db: PostgresDatabase):
        self.db = db

    def put(self, owner: str, digest: str, data: bytes) -> None:
        with self.db.connection() as conn:
            conn.execute("INSERT INTO pds_blobs (owner, digest, data) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING", (owner, digest, data))

    def get(self, owner: str, digest: str) -> bytes:
        with self.db.connection() as conn:
            row = conn.execute("SELECT data FROM pds_blobs WHERE owner = %s AND digest = %s", (owner, digest)).fetchone()
        if row is None:
            raise FileNotFoundError(f"no blob {digest[:16]}…")
        return bytes(row[0])

    def erase(self, owner: str) -> None:
        with self.db.connection() as conn:
            conn.execute("DELETE FROM pds_blobs WHERE owner = %s", (owner,))
            conn.execute("VACUUM pds_blobs")
