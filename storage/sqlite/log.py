"""The durable audit log: entries, interior hashes and signed checkpoints in SQLite.

Every perfect subtree hash is stored as it completes, so the root at any size and
any inclusion or consistency proof are O(log n) indexed reads. An append batch,
its new nodes, the new signed checkpoint and any caller metadata commit in one
fsynced WAL transaction: after a crash the log is either before or after the batch.
Appends may go through a log writer process (consent_operator/log_writer.py) that commits for
every worker of an operator; without one, or when it is gone, they commit here.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ledger.errors import MyDataError
from ledger.tlog import merkle
from ledger.tlog.checkpoint import Checkpoint, sign_checkpoint
from ledger.tlog.note import Signer

from ..locks import WriterLock
from . import connections
from .connections import ThreadLocalConnections, connect

log = logging.getLogger(__name__)

APPEND_CLAIM_SECONDS = 600  # how long an append's own claim is kept to read back its outcome
_LEVEL_SHIFT = 48  # node key = level << 48 | index

SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (idx INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS nodes (id INTEGER PRIMARY KEY, hash BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (
    size INTEGER PRIMARY KEY, root BLOB NOT NULL, note TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entry_index (key TEXT NOT NULL, idx INTEGER NOT NULL, PRIMARY KEY (key, idx)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, expires_at REAL NOT NULL, first INTEGER, owner TEXT) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS claims_by_expiry ON claims(expires_at);
"""


def node_key(level: int, index: int) -> int:
    return (level << _LEVEL_SHIFT) | index


@dataclass
class AppendRequest:
    """One caller's append, committed with others in one transaction (`LogStore.commit`)."""

    entries: list[bytes]
    meta: dict[str, str]
    keys: list[list[str]]
    claim: tuple[str, float] | None = None  # (key, expires_at): see LogStore.append
    owner: str = field(default_factory=lambda: secrets.token_hex(8))  # tells this request's claim from a replay's
    first: int = -1
    done: bool = False
    error: BaseException | None = None


class LogError(MyDataError):
    """A request the log cannot answer (size or index out of range)."""

    problem_type = "bad-request"


class LogCorrupt(MyDataError):
    """A stored hash disagrees with the entries or the signed checkpoints: the operator
    must not serve what it computed from it (a proof, a root) and must not append on it."""

    problem_type = "log-corrupt"


class ClaimTaken(MyDataError):
    """An append's claim was made before (and has not expired): nothing of it was written."""

    problem_type = "replayed-request"

    def __init__(self, key: str):
        super().__init__(f"{key} was claimed before")
        self.key = key


class WriterLost(MyDataError):
    """The writer process failed after it took a batch: each request's outcome is unknown
    until `LogStore` reads it back by the request's claim."""

    problem_type = "log-writer-lost"


class WriterUnavailable(MyDataError):
    """No log writer process answers; nothing was sent, so the caller may commit itself."""

    problem_type = "log-writer-unavailable"


class Committer(Protocol):
    """Commits a batch elsewhere (the log writer process), setting each request's `first`
    or `error`; raises WriterUnavailable if it could not take the batch."""

    def commit(self, batch: list[AppendRequest]) -> None: ...


class LogStore:
    """An append-only RFC 9162 log with C2SP checkpoints signed by `signer`."""

    def __init__(self, path: str | Path, origin: str, signer: Signer, writer: Committer | None = None):
        self.path = Path(path)
        self.writer = writer
        self._writer_missed = False
        self.origin = origin
        self.signer = signer
        self._writer = connect(self.path)
        self._writer.executescript(SCHEMA)
        columns = {row[1] for row in self._writer.execute("PRAGMA table_info(claims)")}
        for column, kind in (("first", "INTEGER"), ("owner", "TEXT")):  # a log from before appends were read back
            if column not in columns:
                self._writer.execute(f"ALTER TABLE claims ADD COLUMN {column} {kind}")
        self._write_lock = WriterLock(self.path.with_name(self.path.name + ".writer.lock"))
        self._readers = ThreadLocalConnections(self.path)
        self._range = self._load_range()
        self._queue: list[AppendRequest] = []
        self._queue_cond = threading.Condition()
        self._committing = False
        if self.latest_checkpoint() is None:
            self.append([])

    # ---- reads -----------------------------------------------------------------
    @property
    def size(self) -> int:
        """The committed tree size (other processes may append to the same database)."""
        row = self._db().execute("SELECT MAX(size) FROM checkpoints").fetchone()
        return row[0] or 0

    def _db(self):
        return self._readers.get()

    def _node(self, level: int, index: int) -> bytes:
        row = self._db().execute("SELECT hash FROM nodes WHERE id=?", (node_key(level, index),)).fetchone()
        if row is None:
            raise LogError(f"no stored node at level {level} index {index}")
        return row[0]

    def _load_range(self) -> merkle.CompactRange:
        """The right edge of the committed tree, read through the writer connection."""
        size = self._writer.execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM entries").fetchone()[0]
        hashes = []
        for level, index in merkle.perfect_subtrees(0, size):
            r = self._writer.execute("SELECT hash FROM nodes WHERE id=?", (node_key(level, index),)).fetchone()
            hashes.append(r[0])
        return merkle.CompactRange(size, hashes)

    def subtree(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) from stored perfect subtrees (end <= size)."""
        return merkle.fold_right([self._node(lvl, i) for lvl, i in merkle.perfect_subtrees(start, end)])

    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        self._check_size(size)
        return self.subtree(0, size) if size else merkle.EMPTY_ROOT

    def _check_size(self, size: int) -> None:
        if not 0 <= size <= self.size:
            raise LogError(f"tree size {size} is beyond the log size {self.size}")

    def entry(self, index: int) -> bytes:
        row = self._db().execute("SELECT data FROM entries WHERE idx=?", (index,)).fetchone()
        if row is None:
            raise LogError(f"no entry at index {index}")
        return row[0]

    def entries(self, start: int, end: int) -> list[bytes]:
        rows = self._db().execute("SELECT data FROM entries WHERE idx>=? AND idx<? ORDER BY idx", (start, end))
        return [r[0] for r in rows]

    def level_hashes(self, level: int, start: int, end: int) -> list[bytes]:
        """Stored node hashes at one tree level for indices [start, end)."""
        lo, hi = node_key(level, start), node_key(level, end)
        rows = self._db().execute("SELECT hash FROM nodes WHERE id>=? AND id<? ORDER BY id", (lo, hi))
        return [r[0] for r in rows]

    def signed_root(self, size: int) -> bytes | None:
        """The root this log signed in its checkpoint of `size`, if it signed one."""
        row = self._db().execute("SELECT root FROM checkpoints WHERE size=?", (size,)).fetchone()
        return row[0] if row else None

    def trusted_root(self, size: int) -> bytes:
        """The root at `size`, proved against a signed checkpoint.

        Checkpoint roots are computed in memory as entries are committed, never read back
        from stored nodes. A size without a checkpoint gets its root from the stored nodes,
        accepted only if a consistency proof (also from stored nodes) leads from it to the
        next signed root: a flipped stored hash cannot pass both."""
        self._check_size(size)
        signed = self.signed_root(size)
        if signed is not None:
            return signed
        row = self._db().execute("SELECT size, root FROM checkpoints WHERE size>? ORDER BY size LIMIT 1", (size,)).fetchone()
        root = self.root(size)
        try:
            merkle.verify_consistency(size, row[0], root, row[1], merkle.consistency_path(size, row[0], self.subtree))
        except merkle.ProofError:
            raise LogCorrupt(f"stored hashes at size {size} are inconsistent with checkpoint {row[0]}") from None
        return root

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, size) from stored nodes, verified against the signed root before it is
        returned (LogCorrupt if a stored hash was altered)."""
        size = self.size if size is None else size
        self._check_size(size)
        path = merkle.inclusion_path(index, size, self.subtree)
        try:
            merkle.verify_inclusion(index, size, merkle.leaf_hash(self.entry(index)), path, self.trusted_root(size))
        except merkle.ProofError:
            raise LogCorrupt(f"the stored inclusion proof of entry {index} in size {size} is corrupt") from None
        return path

    def consistency_proof(self, old: int, new: int | None = None) -> list[bytes]:
        """PROOF(old, new) from stored nodes, verified against both signed roots."""
        new = self.size if new is None else new
        self._check_size(new)
        path = merkle.consistency_path(old, new, self.subtree)
        try:
            merkle.verify_consistency(old, new, self.trusted_root(old), self.trusted_root(new), path)
        except merkle.ProofError:
            raise LogCorrupt(f"the stored consistency proof from {old} to {new} is corrupt") from None
        return path

    def check(self, chunk: int = 4096) -> int:
        """Recompute every stored node and every checkpoint root from the entries.

        Returns the number of entries checked; raises LogCorrupt naming the first stored
        hash that differs. The operator runs this before it serves or appends (a corrupt
        right-edge node would otherwise poison every later root)."""
        db = self._db()
        size = self.size
        signed = dict(db.execute("SELECT size, root FROM checkpoints"))
        rng = merkle.CompactRange()
        pending: list[tuple[int, int, bytes]] = []

        def compare() -> None:
            if not pending:
                return
            keys = [node_key(level, index) for level, index, _ in pending]
            stored = dict(db.execute(f"SELECT id, hash FROM nodes WHERE id IN ({','.join('?' * len(keys))})", keys))
            for key, (level, index, h) in zip(keys, pending):
                if stored.get(key) != h:
                    raise LogCorrupt(f"stored node at level {level} index {index} does not match the entries")
            pending.clear()

        for start in range(0, size, chunk):
            for data in self.entries(start, min(start + chunk, size)):
                rng.append(merkle.leaf_hash(data), lambda level, index, h: pending.append((level, index, h)))
                if rng.size in signed and signed[rng.size] != rng.root():
                    raise LogCorrupt(f"checkpoint {rng.size} does not match the entries")
                if len(pending) >= 900:  # SQLite's bound-parameter limit is 999 on old builds
                    compare()
        compare()
        if rng.size != size:
            raise LogCorrupt(f"the log holds {rng.size} entries, its checkpoint says {size}")
        return size

    def latest_checkpoint(self) -> str | None:
        row = self._db().execute("SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1").fetchone()
        return row[0] if row else None

    def checkpoint_at(self, size: int) -> str | None:
        row = self._db().execute("SELECT note FROM checkpoints WHERE size=?", (size,)).fetchone()
        return row[0] if row else None

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads on this thread inside see one state of the log (one read transaction: one
        check of the write-ahead log instead of one per query, under a writer committing
        hundreds of times a second)."""
        conn = self._db()
        conn.execute("BEGIN")
        try:
            yield
        finally:
            conn.execute("COMMIT")

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self._db().execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def get_metas(self, *keys: str) -> dict[str, str]:
        """The meta values of `keys` that are set, read in one snapshot."""
        rows = self._db().execute(f"SELECT key, value FROM meta WHERE key IN ({','.join('?' * len(keys))})", keys)
        return dict(rows.fetchall())

    # ---- writes ----------------------------------------------------------------
    def find(self, key: str) -> list[int]:
        """Indices of the entries appended under lookup key `key`, oldest first."""
        rows = self._db().execute("SELECT idx FROM entry_index WHERE key=? ORDER BY idx", (key,))
        return [r[0] for r in rows]

    def forget(self, key: str) -> int:
        """Drop a private lookup key (erasure): the entries stay, nothing links them to `key`."""
        with self._write_lock:
            return connections.erase(self._db(), [("DELETE FROM entry_index WHERE key=?", (key,))])

    def append(
        self,
        entries: Sequence[bytes],
        meta: dict[str, str] | None = None,
        keys: Sequence[Sequence[str]] | None = None,
        claim: tuple[str, float] | None = None,
    ) -> int:
        """Durably append entries, their lookup keys and meta values in one transaction.

        `keys[i]` lists the lookup keys of `entries[i]` (see `find`). Returns the first index.
        `claim` (key, expires_at) makes the append conditional: if that key was claimed
        before and has not expired, nothing is written and ClaimTaken is raised. (The
        release path claims a request's nonce this way: its replay check and its log entry
        are one write.) An append without a claim gets a random one: the claim records
        the first index, so an append whose writer died mid-commit is read back or redone,
        never lost and never doubled.
        Concurrent callers are group-committed: while one batch is being committed, new
        requests queue up, and the next leader commits them all at once, through the writer
        process if there is one (one round trip per batch), else here. Each caller returns
        once its own request is durable (or raises that batch's error).
        """
        claim = claim or (f"append:{secrets.token_hex(16)}", time.time() + APPEND_CLAIM_SECONDS)
        request = AppendRequest(list(entries), dict(meta or {}), [list(k) for k in keys or ()], claim)
        with self._queue_cond:
            self._queue.append(request)
            while not request.done:
                if self._committing:
                    self._queue_cond.wait()
                    continue
                self._committing = True  # this caller leads the next group commit
                batch, self._queue = self._queue, []
                self._queue_cond.release()
                try:
                    self._lead(batch)
                finally:
                    self._queue_cond.acquire()
                    self._committing = False
                    for req in batch:
                        req.done = True
                    self._queue_cond.notify_all()
        if request.error is not None:
            raise request.error
        return request.first

    def _lead(self, batch: list[AppendRequest]) -> None:
        """Commit a group: through the writer process, or here when there is none."""
        if self.writer is not None:
            try:
                self.writer.commit(batch)
            except WriterUnavailable as exc:
                if not self._writer_missed:
                    log.warning("log writer unavailable, committing in this process: %s", exc)
                self._writer_missed = True
            else:
                lost = [req for req in batch if isinstance(req.error, WriterLost)]
                if lost:
                    self._recover(lost)
                return
        self.commit(batch)

    def _recover(self, lost: list[AppendRequest]) -> None:
        """The writer died holding these requests. Its transaction committed or rolled back
        whole, and its lock died with it: under the lock, a request whose claim is stored
        under its own owner token was committed (its first index is stored with it); a claim
        stored by another request means this one was a replay; the others are committed here."""
        log.warning("log writer lost %d appends mid-commit; reading back or redoing them", len(lost))
        with self._write_lock:
            redo = []
            for req in lost:
                row = self._writer.execute("SELECT first, owner FROM claims WHERE key=?", (req.claim[0],)).fetchone()
                req.error = None
                if row is None:
                    redo.append(req)
                elif row[1] == req.owner:
                    req.first = row[0]
                else:
                    req.error = ClaimTaken(req.claim[0])
            if redo:
                self._commit(redo)

    def commit(self, batch: list[AppendRequest]) -> None:
        """Write a batch of requests as one transaction, setting each one's `first` or `error`.

        One caller at a time per process (the group-commit leader, or the writer process);
        other processes' committers wait on the writer lock, woken at once."""
        with self._write_lock:
            self._commit(batch)

    def _commit(self, batch: list[AppendRequest]) -> None:
        conn = self._writer
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                if conn.execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM entries").fetchone()[0] != self._range.size:
                    self._range = self._load_range()  # another process appended meanwhile
                first = self._range.size
                new_range = self._range.copy()
                nodes: list[tuple[int, bytes]] = []
                rows: list[tuple[int, bytes]] = []
                conn.execute("DELETE FROM claims WHERE expires_at < ?", (time.time(),))
                accepted = []
                for req in batch:
                    if not self._claim(conn, req, first + len(rows)):
                        continue
                    accepted.append(req)
                    req.first = first + len(rows)
                    for data in req.entries:
                        rows.append((first + len(rows), data))
                        new_range.append(merkle.leaf_hash(data), lambda lvl, i, h: nodes.append((node_key(lvl, i), h)))
                conn.executemany("INSERT INTO entries(idx, data) VALUES (?, ?)", rows)
                conn.executemany("INSERT INTO nodes(id, hash) VALUES (?, ?)", nodes)
                if rows or first == 0:
                    self._store_checkpoint(conn, new_range)
                for req in accepted:
                    conn.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", req.meta.items())
                    conn.executemany(
                        "INSERT INTO entry_index(key, idx) VALUES (?, ?)",
                        ((k, req.first + i) for i, ks in enumerate(req.keys) for k in ks),
                    )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            self._range = new_range
        except BaseException as exc:  # every request of the batch fails with the transaction
            for req in batch:
                req.error = exc

    @staticmethod
    def _claim(conn, req: AppendRequest, first: int) -> bool:
        """Make the request's claim, recording its first index; False (and ClaimTaken) if it
        was made before."""
        if req.claim is None:
            return True
        try:
            conn.execute("INSERT INTO claims(key, expires_at, first, owner) VALUES (?, ?, ?, ?)", (*req.claim, first, req.owner))
        except sqlite3.IntegrityError:
            req.error = ClaimTaken(req.claim[0])
            return False
        return True

    def _store_checkpoint(self, conn, rng: merkle.CompactRange) -> None:
        cp = Checkpoint(self.origin, rng.size, rng.root())
        conn.execute(
            "INSERT OR IGNORE INTO checkpoints(size, root, note, created_at) VALUES (?, ?, ?, ?)",
            (cp.size, cp.root, sign_checkpoint(cp, self.signer), time.time()),
        )
