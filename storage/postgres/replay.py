"""The replay store (ledger.request_auth.ReplayStore) in PostgreSQL, shared by replicas:
a nonce accepted by one replica is refused by every other."""

from __future__ import annotations

import time

from .pool import PostgresDatabase

PRUNE_EVERY = 1000  # uses between removals of nonces whose window has passed


class PostgresReplayStore:
    def __init__(self, db: PostgresDatabase):
        self._db = db
        self._uses = 0

    def use(self, key_id: str, nonce: str, expires_at: float) -> bool:
        """Record a nonce; False if any replica recorded it before (a replay). The insert
        commits (fsynced) before the request is served."""
        self._uses += 1
        with self._db.connection() as conn:
            if self._uses % PRUNE_EVERY == 0:
                conn.execute("DELETE FROM request_nonces WHERE expires_at < %s", (time.time(),))
            inserted = conn.execute(
                "INSERT INTO request_nonces (key_id, nonce, expires_at) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                (key_id, nonce, expires_at),
            ).rowcount
        return inserted == 1

    def forget(self, key_id: str) -> int:
        """Delete every nonce of `key_id` (erasure). The rows are gone for every query at
        once; PostgreSQL reuses their space after vacuum, which runs here at once."""
        with self._db.connection() as conn:
            deleted = conn.execute("DELETE FROM request_nonces WHERE key_id = %s", (key_id,)).rowcount
            conn.execute("VACUUM request_nonces")
        return deleted
