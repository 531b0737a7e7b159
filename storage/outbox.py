"""The operator's durable outbox of notifications to services ("your consent ended").

The audit log is the source: the notifier reads the entries after its cursor, and queues
one notification per ending entry (and notes the ending for the archive) (revoked, expired, withdrawn by a reorg) together with
the new cursor, in one transaction — so a crash between the two neither loses nor doubles
one. Each notification's id is its log entry's index, so queueing it again changes nothing
(the service dedupes by the same id). Delivery is at least once: a row stays due until a
service answers 2xx, each failure pushing the next attempt back. Written once in portable
SQL over the directory's `SqlDatabase` (it shares the directory's tables and erasure).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .sql import SqlDatabase

_CURSOR = "notifier.log_cursor"
_EXPIRY = "notifier.expiry_cursor"


@dataclass(frozen=True)
class Notification:
    id: int  # the log index of the entry it tells about
    service_id: str
    citizen: str
    url: str
    body: dict[str, Any]
    attempts: int


class Outbox:
    def __init__(self, db: SqlDatabase):
        self._db = db

    def cursor(self) -> int:
        """The log size up to which every ending entry has been queued."""
        return int(self._state(_CURSOR, "0"))

    def expiry_cursor(self) -> int:
        """The chain time up to which every consent's expiry has been logged."""
        return int(self._state(_EXPIRY, "0"))

    def _state(self, name: str, default: str) -> str:
        rows = self._db.rows("SELECT value FROM notifier_state WHERE name=%s", (name,))
        return str(rows[0][0]) if rows else default

    def queue(self, items: list[Notification], cursor: int, now: float, endings: Sequence[tuple[str, float]] = ()) -> None:
        """Queue `items` (ignoring any queued before), note the consents that ended
        (consent_id, ended_at: the archive's to-do list, storage/directory.py) and move the
        cursor, atomically."""
        with self._db.transaction() as tx:
            for consent_id, ended_at in endings:
                tx.execute("INSERT INTO consent_endings VALUES (%s, %s) ON CONFLICT(consent_id) DO NOTHING", (consent_id, ended_at))
            for n in items:
                tx.execute(
                    "INSERT INTO notifications VALUES (%s, %s, %s, %s, %s, 0, %s, NULL, NULL) ON CONFLICT(id) DO NOTHING",
                    (n.id, n.service_id, n.citizen, n.url, json.dumps(n.body), now),
                )
            self._set(tx, _CURSOR, str(cursor))

    def expired_up_to(self, chain_time: int) -> None:
        with self._db.transaction() as tx:
            self._set(tx, _EXPIRY, str(chain_time))

    @staticmethod
    def _set(tx: Any, name: str, value: str) -> None:
        tx.execute("INSERT INTO notifier_state VALUES (%s, %s) ON CONFLICT(name) DO UPDATE SET value=excluded.value", (name, value))

    def due(self, now: float, limit: int = 100) -> list[Notification]:
        """Undelivered notifications whose next attempt is due, oldest first."""
        rows = self._db.rows(
            "SELECT id, service_id, citizen, url, body, attempts FROM notifications WHERE delivered_at IS NULL AND next_at<=%s ORDER BY id LIMIT %s",
            (now, limit),
        )
        return [Notification(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5]) for r in rows]

    def delivered(self, notification_id: int, now: float) -> None:
        self._db.execute("UPDATE notifications SET delivered_at=%s, last_error=NULL WHERE id=%s", (now, notification_id))

    def failed(self, notification_id: int, next_at: float, error: str) -> None:
        self._db.execute(
            "UPDATE notifications SET attempts=attempts+1, next_at=%s, last_error=%s WHERE id=%s", (next_at, error[:500], notification_id)
        )

    def prune_delivered(self, before: float) -> int:
        """Drop notifications delivered before `before` (their log entries stay); rows dropped."""
        return self._db.execute("DELETE FROM notifications WHERE delivered_at<%s", (before,))

    def state(self, notification_id: int) -> dict[str, Any] | None:
        """One notification's delivery state (attempts, delivered_at, last_error)."""
        rows = self._db.rows("SELECT attempts, delivered_at, last_error FROM notifications WHERE id=%s", (notification_id,))
        return dict(zip(("attempts", "delivered_at", "last_error"), rows[0], strict=True)) if rows else None

    def pending(self) -> int:
        return int(self._db.rows("SELECT COUNT(*) FROM notifications WHERE delivered_at IS NULL")[0][0])
