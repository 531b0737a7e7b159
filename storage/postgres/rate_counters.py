"""Rate-limit counters in PostgreSQL: a `limits` storage every replica shares, so a budget
holds for the whole operator, not per process.

One statement per hit (an upsert that starts a new window when the old one has passed),
timed by the database's clock so replicas whose clocks differ still share windows. The
table is UNLOGGED (migration 0001): counting costs no fsync.
"""

from __future__ import annotations

from limits.storage import Storage

from ..errors import StorageUnavailable
from .pool import PostgresDatabase

NOW = "extract(epoch from clock_timestamp())"


class PostgresCounters(Storage):
    STORAGE_SCHEME = ["mydata+postgresql"]  # registered with `limits`; built directly, not from a URI

    def __init__(self, db: PostgresDatabase):
        super().__init__()
        self._db = db

    @property
    def base_exceptions(self) -> type[Exception]:
        return StorageUnavailable

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        with self._db.connection() as conn:
            row = conn.execute(
                f"""INSERT INTO rate_counters AS c (key, count, expires_at) VALUES (%(key)s, %(amount)s, {NOW} + %(expiry)s)
                ON CONFLICT (key) DO UPDATE SET
                    count = CASE WHEN c.expires_at <= {NOW} THEN excluded.count ELSE c.count + excluded.count END,
                    expires_at = CASE WHEN c.expires_at <= {NOW} THEN excluded.expires_at ELSE c.expires_at END
                RETURNING count""",
                {"key": key, "amount": amount, "expiry": float(expiry)},
            ).fetchone()
        assert row is not None  # RETURNING always gives the row
        return int(row[0])

    def get(self, key: str) -> int:
        with self._db.connection() as conn:
            row = conn.execute(f"SELECT count FROM rate_counters WHERE key = %s AND expires_at > {NOW}", (key,)).fetchone()
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        with self._db.connection() as conn:
            row = conn.execute(f"SELECT GREATEST(expires_at, {NOW}) FROM rate_counters WHERE key = %s", (key,)).fetchone()
            if row is None:
                row = conn.execute(f"SELECT {NOW}").fetchone()
            assert row is not None
            return float(row[0])

    def check(self) -> bool:
        try:
            with self._db.connection() as conn:
                conn.execute("SELECT 1")
        except StorageUnavailable:
            return False
        return True

    def reset(self) -> int | None:
        with self._db.connection() as conn:
            return conn.execute("DELETE FROM rate_counters").rowcount

    def clear(self, key: str) -> None:
        with self._db.connection() as conn:
            conn.execute("DELETE FROM rate_counters WHERE key = %s", (key,))
