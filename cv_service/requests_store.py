"""Which consent requests this service sent to which citizen (its only state)."""

from __future__ import annotations

import time
from pathlib import Path

from ledger.sqlite_util import ThreadLocalConnections, connect


class RequestsStore:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = connect(path)
        self._writer.execute("CREATE TABLE IF NOT EXISTS requests (id TEXT PRIMARY KEY, citizen TEXT NOT NULL, created_at REAL NOT NULL)")
        self._readers = ThreadLocalConnections(path)

    def add(self, request_id: str, citizen: str) -> None:
        self._writer.execute("INSERT INTO requests VALUES (?, ?, ?)", (request_id, citizen, time.time()))

    def citizen_of(self, request_id: str) -> str | None:
        row = self._readers.get().execute("SELECT citizen FROM requests WHERE id=?", (request_id,)).fetchone()
        return row[0] if row else None
