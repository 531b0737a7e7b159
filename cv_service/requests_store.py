"""The CV service's own state: which consent requests it sent to which citizen, and the
newest version of each citizen's area it has read or written (the SDK's SeenVersions)."""

from __future__ import annotations

import time
from pathlib import Path

from ledger.sqlite_util import ThreadLocalConnections, Writer

SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (id TEXT PRIMARY KEY, citizen TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS seen_versions (
    citizen TEXT NOT NULL, area TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (citizen, area)) WITHOUT ROWID;
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

    def highest(self, citizen: str, area: str) -> int:
        row = self._readers.get().execute("SELECT version FROM seen_versions WHERE citizen=? AND area=?", (citizen, area)).fetchone()
        return row[0] if row else 0

    def saw(self, citizen: str, area: str, version: int) -> None:
        self._writer.execute(
            "INSERT INTO seen_versions VALUES (?, ?, ?) ON CONFLICT(citizen, area) DO UPDATE SET version=MAX(version, excluded.version)",
            (citizen, area, version),
        )
