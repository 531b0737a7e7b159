"""The log's PostgreSQL backend: one log for every replica, written by one sequencer.

Appends reach the tree through the sequencer (storage/postgres/sequencer.py): the one
process holding its lock appends batches gathered from all replicas, each one transaction
that first locks the tree head row (`log_head`, FOR UPDATE, reading the latest
checkpoint's size and time in the same round trip) and commits (WAL fsynced) before any
caller is answered. The head moves by compare-and-swap (`log_advance`: the head must still
be at the size the batch started from), so even two sequencers that both believed they
held the lock could never fork the tree; publishing a checkpoint on demand takes the same
row lock. A sequencer that appends only its own process's requests and knows the head
from its last commit skips the reads: its batch goes as one statement that checks what it
presumed (`_PresumedAppend`), one round trip instead of two. Reads take a pooled
connection per query, or one pinned REPEATABLE READ transaction inside `snapshot()`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

import psycopg

from ledger.lookup_keys import is_lasting
from ledger.tlog.note import Signer

from ..append_codec import decode_request
from ..log import (
    LASTING_EPOCH,
    PUBLISH_SECONDS,
    AnchorRecord,
    AppendRequest,
    AppendTransaction,
    Committer,
    KnownState,
    LogError,
    LogStore,
    PresumptionFailed,
    TreeMoved,
    key_epoch,
)
from .pool import PostgresDatabase
from .sequencer import BATCH_LIMIT, PostgresSequencer

_ANCHOR = "size, root, tx, block, anchor_index"
TREE_MOVED = "MYD01"  # log_advance's SQLSTATE
_METAS = "SELECT key, value FROM log_meta WHERE key = ANY(%b)"
# A batch's claims in order, each with its first index if every append before it is
# written: the tree's `{size}` plus its offset. Returns those stored (a key claimed
# before, or earlier in the batch, is not).
_INSERT_CLAIMS = (
    "INSERT INTO log_claims (key, expires_at, first, owner) SELECT key, expires_at, {size} + offset_, owner"
    " FROM unnest(%b::text[], %b::float8[], %b::text[], %b::bigint[]) WITH ORDINALITY AS c(key, expires_at, owner, offset_, n)"
    " ORDER BY n ON CONFLICT DO NOTHING RETURNING key, owner"
)
# A key's rows in the lookup index (storage/log.py, KEY_EPOCH_BITS; migration 0011): a
# lasting key's in its one epoch; any other's in every epoch, as an array, so that the
# index is descended once per epoch instead of scanned (the lasting epoch too: rows from
# before epochs are there).
_LASTING_KEY = f"epoch = {LASTING_EPOCH} AND key = %s"
_KEY_IN_EVERY_EPOCH = f"epoch = ANY(ARRAY(SELECT generate_series({LASTING_EPOCH}, (SELECT max(epoch) FROM log_entry_index)))) AND key = %s"


def _rows_of(key: str) -> str:
    """The WHERE clause that finds the lookup index's rows of `key`."""
    return _LASTING_KEY if is_lasting(key) else _KEY_IN_EVERY_EPOCH


class PostgresLogBackend:
    """The log's rows in the database `db` (migration 0002)."""

    def __init__(self, db: PostgresDatabase):
        self.db = db
        self._pinned = threading.local()  # this thread's snapshot connection (greenlet-local under gevent)

    @contextmanager
    def _read(self) -> Iterator[psycopg.Connection]:
        conn = getattr(self._pinned, "conn", None)
        if conn is not None:
            yield conn
            return
        with self.db.connection() as conn:
            yield conn

    def _one(self, sql: str, args: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
        with self._read() as conn:
            return conn.execute(sql, args).fetchone()

    def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._read() as conn:
            return conn.execute(sql, args).fetchall()

    # ---- reads -------------------------------------------------------------------
    def checkpoint_size(self) -> int:
        row = self._one("SELECT COALESCE(MAX(size), 0) FROM log_checkpoints")
        return row[0] if row else 0

    def head_size(self) -> int:
        row = self._one("SELECT size FROM log_head WHERE id = 1")
        return row[0] if row else 0

    def checkpoint_time(self) -> float:
        row = self._one("SELECT created_at FROM log_checkpoints ORDER BY size DESC LIMIT 1")
        return float(row[0]) if row else 0.0

    def hashes(self, keys: list[int]) -> list[bytes]:
        with self._read() as conn:
            return _hashes(conn, keys)

    def hash_range(self, lo: int, hi: int) -> list[bytes]:
        return [bytes(r[0]) for r in self._all("SELECT hash FROM log_nodes WHERE id >= %s AND id < %s ORDER BY id", (lo, hi))]

    def entries(self, start: int, end: int) -> list[bytes]:
        return [bytes(r[0]) for r in self._all("SELECT data FROM log_entries WHERE idx >= %s AND idx < %s ORDER BY idx", (start, end))]

    def signed_root(self, size: int) -> bytes | None:
        row = self._one("SELECT root FROM log_checkpoints WHERE size = %s", (size,))
        return bytes(row[0]) if row else None

    def next_checkpoint(self, size: int) -> tuple[int, bytes] | None:
        row = self._one("SELECT size, root FROM log_checkpoints WHERE size > %s ORDER BY size LIMIT 1", (size,))
        return (row[0], bytes(row[1])) if row else None

    def signed_roots(self) -> dict[int, bytes]:
        return {size: bytes(root) for size, root in self._all("SELECT size, root FROM log_checkpoints")}

    def latest_checkpoint(self) -> str | None:
        row = self._one("SELECT note FROM log_checkpoints ORDER BY size DESC LIMIT 1")
        return row[0] if row else None

    def checkpoint_at(self, size: int) -> str | None:
        row = self._one("SELECT note FROM log_checkpoints WHERE size = %s", (size,))
        return row[0] if row else None

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads of this thread inside see one state of the log (REPEATABLE READ)."""
        if getattr(self._pinned, "conn", None) is not None:
            yield  # already inside one
            return
        with self.db.connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            self._pinned.conn = conn
            try:
                yield
            finally:
                self._pinned.conn = None

    def get_metas(self, keys: Sequence[str]) -> dict[str, str]:
        with self._read() as conn:
            return _metas(conn, keys)

    def find(self, key: str) -> list[int]:
        return [r[0] for r in self._all(f"SELECT idx FROM log_entry_index WHERE {_rows_of(key)} ORDER BY idx", (key,))]

    def forget(self, key: str) -> int:
        """Erase a lookup key: the rows are gone for every reader at once, and a vacuum of the
        table lets PostgreSQL reuse their space."""
        with self.db.connection() as conn:
            deleted = conn.execute(f"DELETE FROM log_entry_index WHERE {_rows_of(key)}", (key,)).rowcount
            conn.execute("VACUUM log_entry_index")
        return deleted

    # ---- the exclusive append transaction ------------------------------------------
    @contextmanager
    def append_transaction(self) -> Iterator[_PostgresAppend]:
        """Pipelined: the writes of the batch go out together and are answered at COMMIT."""
        with self.db.connection() as conn, _tree_moved(), conn.pipeline(), conn.transaction():
            head = conn.execute(  # fetched when first needed: statements sent before it share its round trip
                "SELECT h.size, CASE WHEN h.edge_size = h.size THEN h.edge END, c.size, c.created_at FROM log_head h LEFT JOIN LATERAL"
                " (SELECT size, created_at FROM log_checkpoints ORDER BY size DESC LIMIT 1) c ON true WHERE h.id = 1 FOR UPDATE OF h"
            )
            tx = _PostgresAppend(conn, head)
            yield tx
            tx.flush()

    @contextmanager
    def presumed_transaction(self, known: KnownState) -> Iterator[_PresumedAppend]:
        """The batch as one statement, its own transaction (see _PresumedAppend)."""
        with self.db.connection() as conn:
            tx = _PresumedAppend(conn, known)
            yield tx
            tx.flush()

    # ---- anchors --------------------------------------------------------------------
    def record_anchor(self, rec: AnchorRecord) -> None:
        with self.db.connection() as conn:
            conn.execute(
                "INSERT INTO log_anchors (size, root, tx, block, anchor_index, created_at) VALUES (%s, %s, %s, %s, %s, %s)"
                " ON CONFLICT DO NOTHING",
                (rec.size, rec.root, rec.tx, rec.block, rec.anchor_index, time.time()),
            )

    def add_cosignatures(self, size: int, lines: str) -> None:
        with self.db.connection() as conn:
            conn.execute("UPDATE log_checkpoints SET note = note || %s WHERE size = %s", (lines, size))

    def anchors(self) -> list[AnchorRecord]:
        return [_anchor(r) for r in self._all(f"SELECT {_ANCHOR} FROM log_anchors ORDER BY size")]

    def anchor_covering(self, index: int) -> AnchorRecord | None:
        row = self._one(f"SELECT {_ANCHOR} FROM log_anchors WHERE size > %s ORDER BY size LIMIT 1", (index,))
        return _anchor(row) if row else None

    def latest_anchor(self) -> AnchorRecord | None:
        row = self._one(f"SELECT {_ANCHOR} FROM log_anchors ORDER BY size DESC LIMIT 1")
        return _anchor(row) if row else None

    def last_anchor_time(self) -> float:
        row = self._one("SELECT MAX(created_at) FROM log_anchors")
        return float(row[0] or 0.0) if row else 0.0


def _anchor(row: tuple[Any, ...]) -> AnchorRecord:
    return AnchorRecord(row[0], bytes(row[1]), row[2], row[3], row[4])


def _metas(conn: psycopg.Connection, keys: Sequence[str]) -> dict[str, str]:
    return dict(conn.execute(_METAS, (list(keys),)).fetchall())


def _hashes(conn: psycopg.Connection, keys: list[int]) -> list[bytes]:
    """Node hashes of `keys` in order, in one query (LogError if one is missing)."""
    found = {k: bytes(h) for k, h in conn.execute("SELECT id, hash FROM log_nodes WHERE id = ANY(%b)", (keys,)).fetchall()}
    missing = [k for k in keys if k not in found]
    if missing:
        raise LogError(f"no stored node at level {missing[0] >> 48} index {missing[0] & ((1 << 48) - 1)}")
    return [found[k] for k in keys]


class _PostgresAppend:
    """An AppendTransaction holding the tree head row's lock (taken by the head query, whose
    answer is read on first use).

    The batch's row writes (entries, nodes, lookup keys, meta values, checkpoint) are held
    and sent as one statement, with the head's compare-and-swap (`advance`) as its main
    query and each write a data-modifying WITH clause (`flush` sends what is held without
    it): the server's work per statement, not per row, is what a batch of a few releases
    pays most for. The writes touch different tables, so it does not matter that they see
    one snapshot and not each other's rows."""

    def __init__(self, conn: psycopg.Connection, head: psycopg.Cursor[Any] | None):
        self._conn, self._head_query = conn, head
        self._head: tuple[Any, ...] | None = None
        self._held: list[tuple[str, tuple[Any, ...]]] = []  # (statement, its arguments)

    def _head_row(self) -> tuple[Any, ...]:
        if self._head is None:
            assert self._head_query is not None, "a presumed append reads no head"
            self._head = self._head_query.fetchone()
            assert self._head is not None, "migration 0002 inserts the head row"
        return self._head

    def size(self) -> int:
        return int(self._head_row()[0])

    def last_checkpoint(self) -> tuple[int, float] | None:
        _, _, size, signed_at = self._head_row()
        return None if size is None else (size, signed_at)

    def edge(self) -> list[bytes] | None:
        """The edge stored with the head (see migration 0009), or None if it has none."""
        edge = self._head_row()[1]
        return None if edge is None else [bytes(edge[i : i + 32]) for i in range(0, len(edge), 32)]

    def hashes(self, keys: list[int]) -> list[bytes]:
        return _hashes(self._conn, keys)

    def prune_claims(self, now: float) -> None:
        self._conn.execute("DELETE FROM log_claims WHERE expires_at < %s", (now,))

    def claim_all(self, claims: list[tuple[str, float, str, int]]) -> set[tuple[str, str]]:
        """One statement for the batch's claims (a round trip per claim cost more than the
        rest), their first indices from the head row this transaction has locked."""
        if not claims:
            return set()
        keys, expiries, owners, offsets = (list(column) for column in zip(*claims, strict=True))
        rows = self._conn.execute(_INSERT_CLAIMS.format(size="(SELECT size FROM log_head WHERE id = 1)"), (keys, expiries, owners, offsets)).fetchall()
        return {(key, owner) for key, owner in rows}

    def set_firsts(self, firsts: list[tuple[str, int]]) -> None:
        if firsts:
            keys, values = (list(column) for column in zip(*firsts, strict=True))
            self._conn.execute(  # planned afresh: a plan cached while the table was small would scan it whole
                "UPDATE log_claims SET first = f.first FROM unnest(%b::text[], %b::bigint[]) AS f(key, first) WHERE log_claims.key = f.key",
                (keys, values),
                prepare=False,
            )

    def take_pending(self, limit: int) -> Callable[[], list[AppendRequest]]:
        """Delete the oldest appends waiting for the sequencer (storage/postgres/sequencer.py)
        in this transaction; returns how to read them (the query rides with the next one)."""
        taken = self._conn.execute("DELETE FROM log_pending WHERE id IN (SELECT id FROM log_pending ORDER BY id LIMIT %s) RETURNING id, request", (limit,))
        return lambda: [decode_request(bytes(request)) for _, request in sorted(taken.fetchall())]

    def claim_of(self, key: str) -> tuple[int, str] | None:
        row = self._conn.execute("SELECT first, owner FROM log_claims WHERE key = %s", (key,)).fetchone()
        return (row[0], row[1]) if row else None

    def drop_claims(self, claims: list[tuple[str, str]]) -> None:
        if claims:
            keys, owners = (list(column) for column in zip(*claims, strict=True))
            self._conn.execute(
                "DELETE FROM log_claims USING unnest(%b::text[], %b::text[]) AS d(key, owner) WHERE log_claims.key = d.key AND log_claims.owner = d.owner",
                (keys, owners),
            )

    def metas(self, keys: list[str]) -> Callable[[], dict[str, str]]:
        found = self._conn.execute(_METAS, (keys,))  # answered with the batch's next fetch
        return lambda: dict(found.fetchall())

    def add_entries(self, rows: list[tuple[int, bytes]]) -> None:
        self._hold_rows("log_entries (idx, data)", ("bigint", "bytea"), rows)

    def add_nodes(self, nodes: list[tuple[int, bytes]]) -> None:
        self._hold_rows("log_nodes (id, hash)", ("bigint", "bytea"), nodes)

    def add_checkpoint(self, size: int, root: bytes, note: str, signed_at: float) -> None:
        self._held.append(("INSERT INTO log_checkpoints (size, root, note, created_at) VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING", (size, root, note, signed_at)))

    def set_meta(self, items: dict[str, str]) -> None:
        self._hold_rows("log_meta (key, value)", ("text", "text"), list(items.items()), " ON CONFLICT (key) DO UPDATE SET value = excluded.value")

    def add_keys(self, pairs: list[tuple[str, int]]) -> None:
        self._hold_rows("log_entry_index (epoch, key, idx)", ("int", "text", "bigint"), [(key_epoch(key, idx), key, idx) for key, idx in pairs])

    def _hold_rows(self, into: str, types: tuple[str, ...], rows: Sequence[tuple[Any, ...]], then: str = "") -> None:
        """Hold an INSERT of `rows` into a table's columns (`into`, of `types`), one array
        argument per column: a statement per row would cost the server as much as the row."""
        if rows:
            columns = ", ".join(f"%b::{t}[]" for t in types)
            self._held.append((f"INSERT INTO {into} SELECT * FROM unnest({columns}){then}", tuple(list(c) for c in zip(*rows, strict=True))))

    def advance(self, old_size: int, new_size: int, edge: list[bytes]) -> None:
        """Sent with the held writes. (Pipelined, its failure is reported at COMMIT, as
        TreeMoved: see `_tree_moved`.)"""
        with _tree_moved():
            self._send("SELECT log_advance(%s, %s, %s)", (old_size, new_size, b"".join(edge)))

    def flush(self) -> None:
        """Send the writes held, if any (append_transaction does before it commits)."""
        if self._held:
            self._send("SELECT", ())

    def _send(self, main: str, args: tuple[Any, ...]) -> None:
        """Run `main` with every held write as a WITH clause before it, in one statement."""
        held, self._held = self._held, []
        clauses = ", ".join(f"w{i} AS ({statement})" for i, (statement, _) in enumerate(held))
        self._conn.execute(f"WITH {clauses} {main}" if held else main, tuple(a for _, write_args in held for a in write_args) + args)


class _PresumedAppend(_PostgresAppend):
    """An AppendTransaction that reads nothing: it presumes the log is as this process last
    committed it (`known`: the sequencer is the log's only writer while it holds its lock)
    and sends the whole batch as one statement in its own transaction, one round trip where
    reading the head, the claims and the meta values first takes two.

    The head's compare-and-swap is the statement's main query, and its old size is made
    impossible (-1) unless every claim of the batch was stored and every meta value the
    batch was decided on is as presumed: then it fails, and the statement with it, before
    anything is committed. A failure to match (the head moved, a claim taken, a meta value
    changed) and anything the batch would have to read or correct instead (a request gone
    stale, a claim to correct) raise PresumptionFailed: nothing was written, and LogStore writes
    the batch again the usual way."""

    def __init__(self, conn: psycopg.Connection, known: KnownState):
        super().__init__(conn, None)
        self._known = known
        self._claims: tuple[str, int] | None = None  # (the claims' WITH clause, how many it must store)
        self._presumed: dict[str, str] = {}  # meta values the batch was decided on

    def size(self) -> int:
        return self._known.size

    def last_checkpoint(self) -> tuple[int, float] | None:
        return self._known.last_checkpoint

    def prune_claims(self, now: float) -> None:
        self._held.append(("DELETE FROM log_claims WHERE expires_at < %s", (now,)))

    def claim_all(self, claims: list[tuple[str, float, str, int]]) -> set[tuple[str, str]]:
        """Held, each claim stored with its presumed first index; presumed all stored."""
        if not claims:
            return set()
        keys, expiries, owners, offsets = (list(column) for column in zip(*claims, strict=True))
        self._claims = (f"w{len(self._held)}", len(claims))
        self._held.append((_INSERT_CLAIMS.format(size="%s::bigint"), (self._known.size, keys, expiries, owners, offsets)))
        return {(key, owner) for key, _, owner, _ in claims}

    def set_firsts(self, firsts: list[tuple[str, int]]) -> None:
        if firsts:  # (claims it stores in the statement that corrects them would not be seen)
            raise PresumptionFailed("a presumed append corrects no claims")

    def drop_claims(self, claims: list[tuple[str, str]]) -> None:
        if claims:
            raise PresumptionFailed("a request went stale: its claim is dropped the usual way")

    def metas(self, keys: list[str]) -> Callable[[], dict[str, str]]:
        unknown = [key for key in keys if key not in self._known.metas]
        if unknown:
            raise PresumptionFailed(f"meta value {unknown[0]} is not known")
        presumed = {key: self._known.metas[key] for key in keys}
        self._presumed.update(presumed)
        return lambda: presumed

    def advance(self, old_size: int, new_size: int, edge: list[bytes]) -> None:
        """Send the batch, its claims and meta values checked in the compare-and-swap."""
        checks: list[str] = []
        args: list[Any] = []
        if self._claims is not None:
            checks.append(f"(SELECT count(*) FROM {self._claims[0]}) = %s")
            args.append(self._claims[1])
        if self._presumed:
            checks.append(
                "NOT EXISTS (SELECT 1 FROM unnest(%b::text[], %b::text[]) AS e(key, value)"
                " LEFT JOIN log_meta m ON m.key = e.key WHERE COALESCE(m.value, '') <> e.value)"
            )
            args += [list(self._presumed), list(self._presumed.values())]
        held_as_presumed = " AND ".join(checks) or "true"
        try:
            self._send(f"SELECT log_advance(CASE WHEN {held_as_presumed} THEN %s ELSE -1 END, %s, %s)", (*args, old_size, new_size, b"".join(edge)))
        except psycopg.Error as exc:
            if exc.sqlstate == TREE_MOVED:  # (the checks come first: the writes run after the main query)
                raise PresumptionFailed(exc.diag.message_primary or "the log is not as presumed") from None
            raise

    def flush(self) -> None:
        if self._held:  # (writes are sent only with their checks, by `advance`)
            raise PresumptionFailed("a presumed append sends its writes with the head's compare-and-swap only")


@contextmanager
def _tree_moved() -> Iterator[None]:
    """log_advance's refusal (migration 0010) as TreeMoved."""
    try:
        yield
    except psycopg.Error as exc:
        if exc.sqlstate == TREE_MOVED:
            raise TreeMoved(exc.diag.message_primary or "the tree head moved") from None
        raise


class PostgresLog(LogStore):
    """A LogStore in PostgreSQL, shared by every replica, written by one sequencer."""

    def __init__(self, db: PostgresDatabase, origin: str, signer: Signer, writer: Committer | None = None, publish_seconds: float = PUBLISH_SECONDS):
        """`writer`: the replica's log writer process, which appends through its own sequencer."""
        sequencer = PostgresSequencer(db, lambda local, pending: self.integrate(local, _take_pending if pending else None))
        super().__init__(PostgresLogBackend(db), origin, signer, writer, publish_seconds, sequencer)


def _take_pending(tx: AppendTransaction) -> Callable[[], list[AppendRequest]]:
    return cast(_PostgresAppend, tx).take_pending(BATCH_LIMIT)
