"""The CV service's own state: which consent requests it sent to which citizen, the
newest version of each citizen's area it has read or written (the SDK's SeenVersions),
the sign-in challenges waiting for a citizen's answer, the receipts of its consents, the copies of CV areas it keeps,
and the consent-ended notifications it acted on (each once: the operator may repeat one)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from storage.sqlite.connections import ThreadLocalConnections, Writer

SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (id TEXT PRIMARY KEY, citizen TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS seen_versions (
    citizen TEXT NOT NULL, area TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (citizen, area)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS signins (challenge TEXT PRIMARY KEY, expires_at REAL NOT NULL, citizen TEXT) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS receipts (request_id TEXT PRIMARY KEY, receipt TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS copies (
    citizen TEXT NOT NULL, area TEXT NOT NULL, document TEXT NOT NULL, read_at REAL NOT NULL, PRIMARY KEY (citizen, area)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS endings (
    id INTEGER PRIMARY KEY, consent_id TEXT NOT NULL, citizen TEXT NOT NULL, reason TEXT NOT NULL, time TEXT NOT NULL, dropped INTEGER NOT NULL);
"""


class RequestsStore:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = Writer(path, SCHEMA)
        self._readers = ThreadLocalConnections(path)

    def add(self, request_id: str, citizen: str) -> None:
        self._writer.execute("INSERT INTO requests VALUES (?, ?, ?)", (request_id, citizen, time.time()))

    def citizen_of(self, request_id: str) -> str | None:
        row = self._readers.get().execute("SELECT citizen FROM requests WHERE id=?", (request_id,)).fetchone()
        return row[0] if row else None

    def requests_of(self, citizen: str) -> list[str]:
        """The consent requests sent to `citizen`, newest first."""
        rows = self._readers.get().execute("SELECT id FROM requests WHERE citizen=? ORDER BY created_at DESC, rowid DESC", (citizen,))
        return [r[0] for r in rows]

    def highest(self, citizen: str, area: str) -> int:
        row = self._readers.get().execute("SELECT version FROM seen_versions WHERE citizen=? AND area=?", (citizen, area)).fetchone()
        return row[0] if row else 0

    def saw(self, citizen: str, area: str, version: int) -> None:
        self._writer.execute(
            "INSERT INTO seen_versions VALUES (?, ?, ?) ON CONFLICT(citizen, area) DO UPDATE SET version=MAX(version, excluded.version)",
            (citizen, area, version),
        )

    # ---- receipts (the SDK's ReceiptKeeper: the operator hands each over once) -------------
    def keep_receipt(self, request_id: str, receipt: dict) -> None:
        self._writer.execute("INSERT OR REPLACE INTO receipts VALUES (?, ?)", (request_id, json.dumps(receipt)))

    def receipt_of(self, request_id: str) -> dict | None:
        row = self._readers.get().execute("SELECT receipt FROM receipts WHERE request_id=?", (request_id,)).fetchone()
        return json.loads(row[0]) if row else None

    # ---- copies of CV areas, and consents that ended (cv_service/notified.py) ----------
    def keep_copy(self, citizen: str, area: str, document: object) -> None:
        self._writer.execute(
            "INSERT INTO copies VALUES (?, ?, ?, ?) ON CONFLICT(citizen, area) DO UPDATE SET document=excluded.document, read_at=excluded.read_at",
            (citizen, area, json.dumps(document), time.time()),
        )

    def copies(self, citizen: str) -> dict[str, object]:
        rows = self._readers.get().execute("SELECT area, document FROM copies WHERE citizen=?", (citizen,))
        return {area: json.loads(doc) for area, doc in rows}

    def consent_ended(self, notification_id: int, consent_id: str, citizen: str, reason: str, when: str) -> int | None:
        """Drop every copy of `citizen`'s areas and record the ending, once per notification
        id; the number of copies dropped (None: this notification was acted on before)."""
        with self._writer.transaction() as conn:
            if conn.execute("SELECT 1 FROM endings WHERE id=?", (notification_id,)).fetchone():
                return None
            dropped = conn.execute("DELETE FROM copies WHERE citizen=?", (citizen,)).rowcount
            conn.execute("INSERT INTO endings VALUES (?, ?, ?, ?, ?, ?)", (notification_id, consent_id, citizen, reason, when, dropped))
        return dropped

    def ending_of(self, consent_id: str) -> dict[str, object] | None:
        """What the operator told about `consent_id` ending, if it did."""
        row = self._readers.get().execute("SELECT reason, time, dropped FROM endings WHERE consent_id=? ORDER BY id DESC", (consent_id,)).fetchone()
        return {"reason": row[0], "time": row[1], "dropped": row[2]} if row else None

    # ---- sign-in challenges (cv_service/signin_routes.py) -----------------------------
    def new_signin(self, challenge: str, seconds: float) -> None:
        now = time.time()
        with self._writer.transaction() as conn:
            conn.execute("DELETE FROM signins WHERE expires_at < ?", (now,))
            conn.execute("INSERT INTO signins VALUES (?, ?, NULL)", (challenge, now + seconds))

    def signin_waiting(self, challenge: str) -> bool:
        """The challenge exists, has not expired and has no answer yet."""
        row = self._readers.get().execute(
            "SELECT 1 FROM signins WHERE challenge=? AND expires_at>=? AND citizen IS NULL", (challenge, time.time())
        ).fetchone()
        return row is not None

    def answer_signin(self, challenge: str, citizen: str) -> bool:
        """Record the citizen who answered; False if the challenge is gone or answered (once only)."""
        cur = self._writer.execute(
            "UPDATE signins SET citizen=? WHERE challenge=? AND expires_at>=? AND citizen IS NULL", (citizen, challenge, time.time())
        )
        return cur.rowcount == 1

    def take_signin(self, challenge: str) -> str | None:
        """The citizen who answered the challenge, removing it (a session signs in once per answer)."""
        with self._writer.transaction() as conn:
            row = conn.execute("DELETE FROM signins WHERE challenge=? AND citizen IS NOT NULL RETURNING citizen", (challenge,)).fetchone()
        return row[0] if row else None
