"""The log's SQLite backend: one WAL database file, fsynced commits (synchronous=FULL).

Writers on one host (the gunicorn workers, the log writer process) take turns through a
`flock` writer lock (woken at once when the holder releases, where SQLite's busy handler
would sleep and poll) and BEGIN IMMEDIATE; readers use one connection per thread.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ledger.lookup_keys import is_lasting
from ledger.tlog.note import Signer

from ..locks import WriterLock
from ..log import LASTING_EPOCH, PUBLISH_SECONDS, AnchorRecord, Committer, KnownState, LogError, LogStore, key_epoch
from . import connections
from .connections import ThreadLocalConnections, connect

ENTRY_INDEX = """CREATE TABLE IF NOT EXISTS entry_index (
    epoch INTEGER NOT NULL, key TEXT NOT NULL, idx INTEGER NOT NULL, PRIMARY KEY (epoch, key, idx)) WITHOUT ROWID"""
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS entries (idx INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS nodes (id INTEGER PRIMARY KEY, hash BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (
    size INTEGER PRIMARY KEY, root BLOB NOT NULL, note TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
{ENTRY_INDEX};
CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, expires_at REAL NOT NULL, first INTEGER, owner TEXT) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS claims_by_expiry ON claims(expires_at);
CREATE TABLE IF NOT EXISTS anchors (
    size INTEGER PRIMARY KEY, root BLOB NOT NULL, tx TEXT NOT NULL, block INTEGER NOT NULL,
    anchor_index INTEGER NOT NULL, created_at REAL NOT NULL);
"""
_MAX_PARAMS = 900  # SQLite's bound-parameter limit is 999 on old builds
# A key's rows in the lookup index (storage/log.py, KEY_EPOCH_BITS): a lasting key's in its
# one epoch; any other's in every epoch, listed, so that the index is descended once per
# epoch instead of scanned (the lasting epoch too: rows from before epochs are there).
_LASTING_KEY = f"epoch = {LASTING_EPOCH} AND key = ?"
_KEY_IN_EVERY_EPOCH = (
    f"epoch IN (WITH RECURSIVE epochs(e) AS (SELECT {LASTING_EPOCH} UNION ALL SELECT e + 1 FROM epochs WHERE e < (SELECT MAX(epoch) FROM entry_index))"
    " SELECT e FROM epochs) AND key = ?"
)


def _rows_of(key: str) -> str:
    """The WHERE clause that finds the lookup index's rows of `key`."""
    return _LASTING_KEY if is_lasting(key) else _KEY_IN_EVERY_EPOCH


class SqliteLogBackend:
    """The log's rows in the SQLite file at `path`."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._writer = connect(self.path)
        _index_by_epoch(self._writer)
        self._writer.executescript(SCHEMA)
        columns = _columns(self._writer, "claims")
        for column, kind in (("first", "INTEGER"), ("owner", "TEXT")):  # a log from before appends were read back
            if column not in columns:
                self._writer.execute(f"ALTER TABLE claims ADD COLUMN {column} {kind}")
        self._write_lock = WriterLock(self.path.with_name(self.path.name + ".writer.lock"))
        self._readers = ThreadLocalConnections(self.path)

    def _db(self) -> sqlite3.Connection:
        return self._readers.get()

    # ---- reads -------------------------------------------------------------------
    def checkpoint_size(self) -> int:
        return self._db().execute("SELECT MAX(size) FROM checkpoints").fetchone()[0] or 0

    def head_size(self) -> int:
        return _head(self._db())

    def checkpoint_time(self) -> float:
        row = _last_checkpoint(self._db())
        return row[1] if row else 0.0

    def hashes(self, keys: list[int]) -> list[bytes]:
        return _hashes(self._db(), keys)

    def hash_range(self, lo: int, hi: int) -> list[bytes]:
        return [r[0] for r in self._db().execute("SELECT hash FROM nodes WHERE id>=? AND id<? ORDER BY id", (lo, hi))]

    def entries(self, start: int, end: int) -> list[bytes]:
        return [r[0] for r in self._db().execute("SELECT data FROM entries WHERE idx>=? AND idx<? ORDER BY idx", (start, end))]

    def signed_root(self, size: int) -> bytes | None:
        row = self._db().execute("SELECT root FROM checkpoints WHERE size=?", (size,)).fetchone()
        return row[0] if row else None

    def next_checkpoint(self, size: int) -> tuple[int, bytes] | None:
        row = self._db().execute("SELECT size, root FROM checkpoints WHERE size>? ORDER BY size LIMIT 1", (size,)).fetchone()
        return (row[0], row[1]) if row else None

    def signed_roots(self) -> dict[int, bytes]:
        return dict(self._db().execute("SELECT size, root FROM checkpoints"))

    def latest_checkpoint(self) -> str | None:
        row = self._db().execute("SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1").fetchone()
        return row[0] if row else None

    def checkpoint_at(self, size: int) -> str | None:
        row = self._db().execute("SELECT note FROM checkpoints WHERE size=?", (size,)).fetchone()
        return row[0] if row else None

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """One read transaction: one check of the write-ahead log instead of one per query,
        under a writer committing hundreds of times a second."""
        conn = self._db()
        conn.execute("BEGIN")
        try:
            yield
        finally:
            conn.execute("COMMIT")

    def get_metas(self, keys: Sequence[str]) -> dict[str, str]:
        return _metas(self._db(), keys)

    def find(self, key: str) -> list[int]:
        return [r[0] for r in self._db().execute(f"SELECT idx FROM entry_index WHERE {_rows_of(key)} ORDER BY idx", (key,))]

    def forget(self, key: str) -> int:
        """Erase a lookup key for good: secure_delete and a WAL checkpoint (connections.erase)."""
        with self._write_lock:
            return connections.erase(self._db(), [(f"DELETE FROM entry_index WHERE {_rows_of(key)}", (key,))])

    # ---- the exclusive append transaction ------------------------------------------
    def presumed_transaction(self, known: KnownState) -> None:
        """None: a transaction in this process's own file has no round trips to save."""
        return None

    @contextmanager
    def append_transaction(self) -> Iterator[_SqliteAppend]:
        with self._write_lock:
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteAppend(conn)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    # ---- anchors --------------------------------------------------------------------
    def record_anchor(self, rec: AnchorRecord) -> None:
        with self._write_lock:
            self._writer.execute(
                "INSERT OR IGNORE INTO anchors(size, root, tx, block, anchor_index, created_at) VALUES (?,?,?,?,?,?)",
                (rec.size, rec.root, rec.tx, rec.block, rec.anchor_index, time.time()),
            )

    def add_cosignatures(self, size: int, lines: str) -> None:
        with self._write_lock:
            self._writer.execute("UPDATE checkpoints SET note = note || ? WHERE size = ?", (lines, size))

    def anchors(self) -> list[AnchorRecord]:
        return [AnchorRecord(*r) for r in self._db().execute(f"SELECT {_ANCHOR} FROM anchors ORDER BY size")]

    def anchor_covering(self, index: int) -> AnchorRecord | None:
        row = self._db().execute(f"SELECT {_ANCHOR} FROM anchors WHERE size > ? ORDER BY size LIMIT 1", (index,)).fetchone()
        return AnchorRecord(*row) if row else None

    def latest_anchor(self) -> AnchorRecord | None:
        row = self._db().execute(f"SELECT {_ANCHOR} FROM anchors ORDER BY size DESC LIMIT 1").fetchone()
        return AnchorRecord(*row) if row else None

    def last_anchor_time(self) -> float:
        return float(self._db().execute("SELECT MAX(created_at) FROM anchors").fetchone()[0] or 0.0)


_ANCHOR = "size, root, tx, block, anchor_index"


def _head(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM entries").fetchone()[0])


def _last_checkpoint(conn: sqlite3.Connection) -> tuple[int, float] | None:
    row = conn.execute("SELECT size, created_at FROM checkpoints ORDER BY size DESC LIMIT 1").fetchone()
    return (row[0], row[1]) if row else None


def _metas(conn: sqlite3.Connection, keys: Sequence[str]) -> dict[str, str]:
    return dict(conn.execute(f"SELECT key, value FROM meta WHERE key IN ({','.join('?' * len(keys))})", tuple(keys)).fetchall())


def _hashes(conn: sqlite3.Connection, keys: list[int]) -> list[bytes]:
    """Node hashes of `keys` in order, a few hundred per query (LogError if one is missing)."""
    found: dict[int, bytes] = {}
    for i in range(0, len(keys), _MAX_PARAMS):
        part = keys[i : i + _MAX_PARAMS]
        found.update(conn.execute(f"SELECT id, hash FROM nodes WHERE id IN ({','.join('?' * len(part))})", part))
    missing = [k for k in keys if k not in found]
    if missing:
        raise LogError(f"no stored node at level {missing[0] >> 48} index {missing[0] & ((1 << 48) - 1)}")
    return [found[k] for k in keys]


class _SqliteAppend:
    """An AppendTransaction on the writer connection (BEGIN IMMEDIATE under the writer lock)."""

    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn

    def size(self) -> int:
        return _head(self._conn)

    def last_checkpoint(self) -> tuple[int, float] | None:
        return _last_checkpoint(self._conn)

    def edge(self) -> list[bytes] | None:
        return None  # one host: the writer process keeps the edge it committed

    def hashes(self, keys: list[int]) -> list[bytes]:
        return _hashes(self._conn, keys)

    def prune_claims(self, now: float) -> None:
        self._conn.execute("DELETE FROM claims WHERE expires_at < ?", (now,))

    def claim_all(self, claims: list[tuple[str, float, str, int]]) -> set[tuple[str, str]]:
        won, size = set(), self.size()
        for key, expires_at, owner, offset in claims:
            try:
                self._conn.execute("INSERT INTO claims(key, expires_at, first, owner) VALUES (?, ?, ?, ?)", (key, expires_at, size + offset, owner))
            except sqlite3.IntegrityError:
                continue
            won.add((key, owner))
        return won

    def set_firsts(self, firsts: list[tuple[str, int]]) -> None:
        self._conn.executemany("UPDATE claims SET first=? WHERE key=?", [(first, key) for key, first in firsts])

    def claim_of(self, key: str) -> tuple[int, str] | None:
        row = self._conn.execute("SELECT first, owner FROM claims WHERE key=?", (key,)).fetchone()
        return (row[0], row[1]) if row else None

    def drop_claims(self, claims: list[tuple[str, str]]) -> None:
        self._conn.executemany("DELETE FROM claims WHERE key=? AND owner=?", claims)

    def metas(self, keys: list[str]) -> Callable[[], dict[str, str]]:
        found = _metas(self._conn, keys)
        return lambda: found

    def add_entries(self, rows: list[tuple[int, bytes]]) -> None:
        self._conn.executemany("INSERT INTO entries(idx, data) VALUES (?, ?)", rows)

    def add_nodes(self, nodes: list[tuple[int, bytes]]) -> None:
        self._conn.executemany("INSERT INTO nodes(id, hash) VALUES (?, ?)", nodes)

    def add_checkpoint(self, size: int, root: bytes, note: str, signed_at: float) -> None:
        self._conn.execute("INSERT OR IGNORE INTO checkpoints(size, root, note, created_at) VALUES (?, ?, ?, ?)", (size, root, note, signed_at))

    def set_meta(self, items: dict[str, str]) -> None:
        self._conn.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", items.items())

    def add_keys(self, pairs: list[tuple[str, int]]) -> None:
        self._conn.executemany("INSERT INTO entry_index(epoch, key, idx) VALUES (?, ?, ?)", [(key_epoch(key, idx), key, idx) for key, idx in pairs])

    def advance(self, old_size: int, new_size: int, edge: list[bytes]) -> None:
        """Nothing to swap: the entries table is the head here, and BEGIN IMMEDIATE under the
        writer lock already keeps every other writer out of the transaction."""


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def _index_by_epoch(conn: sqlite3.Connection) -> None:
    """A log from before the lookup index was ordered by epoch has its rows moved into the
    new index's lasting epoch (ordered by key, as before), in one transaction taken by one
    of the processes opening it."""
    columns = _columns(conn, "entry_index")
    if not columns or "epoch" in columns:  # a new log, or one moved already
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        if "epoch" not in _columns(conn, "entry_index"):  # another process may have moved them meanwhile
            conn.execute("ALTER TABLE entry_index RENAME TO entry_index_by_key")
            conn.execute(ENTRY_INDEX)
            conn.execute(f"INSERT INTO entry_index SELECT {LASTING_EPOCH}, key, idx FROM entry_index_by_key")
            conn.execute("DROP TABLE entry_index_by_key")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


class SqliteLog(LogStore):
    """A LogStore in the SQLite file at `path` (the single-host default)."""

    def __init__(self, path: str | Path, origin: str, signer: Signer, writer: Committer | None = None, publish_seconds: float = PUBLISH_SECONDS):
        self.path = Path(path)
        super().__init__(SqliteLogBackend(self.path), origin, signer, writer, publish_seconds)
