"""The durable audit log over any storage backend: entries, interior hashes, signed checkpoints.

Every perfect subtree hash is stored as it completes, so the root at any size and any
inclusion or consistency proof are O(log n) reads (one `hashes` call each: sumdb's
HashReader shape). An append batch, its new nodes and any caller metadata commit in one
transaction of the backend (`LogBackend.append_transaction`): after a crash the log is
either before or after the batch.

Checkpoints are published on an interval, not per write (Tessera's shape): an append is
durable and has its index when its transaction commits (the tree *head* moves), and the
next checkpoint that covers it is signed by the first commit at least `publish_seconds`
after the last one (the rate limit lives in the database, so it holds across replicas),
by `publish_if_due` when appends stop, or at once by `publish()` when a proof or an
anchor needs it. Readers see the published `size`: proofs, tiles and audits cover what a
signed checkpoint covers. Backends: storage/sqlite/log.py (one host) and
storage/postgres/log.py (replicas: one elected sequencer appends the batches of every
replica, and a compare-and-swap on the tree head keeps two writers from ever forking the log).

Appends may go through a log writer process (consent_operator/log/log_writer.py) that
writes for every worker of a host or replica; from there, or from a process without one
(or whose writer is gone), they go to the `Sequencer` if the backend has one (PostgreSQL),
else commit in that process.
"""

from __future__ import annotations

import itertools
import logging
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

from ledger.errors import MyDataError
from ledger.lookup_keys import is_lasting
from ledger.tlog import merkle, note
from ledger.tlog.checkpoint import Checkpoint, sign_checkpoint
from ledger.tlog.note import Signer

log = logging.getLogger(__name__)

PUBLISH_SECONDS = 1.0  # a new checkpoint at most this often while appends flow (each is ~270 B and a signature)
PRUNE_CLAIMS_SECONDS = 1.0  # expired claims are dropped at most this often per process (only their space is at stake: an expired nonce is refused as stale anyway)
APPEND_CLAIM_SECONDS = 600  # how long an append's own claim is kept to read back its outcome
SIGNING_KEY_META = "log.vkey"  # the verifier key of the log's first signer, kept with the log
_LEVEL_SHIFT = 48  # node key = level << 48 | index
# The private lookup index is ordered by (epoch, key, idx), not (key, idx). The keys written
# with every data access (a citizen's, a consent's) go to epoch idx >> KEY_EPOCH_BITS: an
# append inserts them only into the current epoch's part of the index, as small as an
# empty log's (2^17 entries, ~4,000 pages), so the pages a batch dirties and the cache it
# needs stay the same as the log grows, where keys at random places of one index of the
# whole log slowed appends to half their rate by 1M entries; finding one probes each epoch
# (77 at 10M entries). Keys written once per event (ledger.lookup_keys.is_lasting: a
# grant's, a revocation's, the ones the release path looks up) and every row from before
# epochs go to LASTING_EPOCH: one probe.
KEY_EPOCH_BITS = 17
LASTING_EPOCH = -1


def key_epoch(key: str, index: int) -> int:
    """The epoch under which lookup key `key` of entry `index` is indexed."""
    return LASTING_EPOCH if is_lasting(key) else index >> KEY_EPOCH_BITS


def node_key(level: int, index: int) -> int:
    """The storage key of the perfect subtree hash at (level, index)."""
    return (level << _LEVEL_SHIFT) | index


@dataclass
class AppendRequest:
    """One caller's append, committed with others in one transaction (`LogStore.commit`)."""

    entries: list[bytes]
    meta: dict[str, str]
    keys: list[list[str]]
    claim: tuple[str, float] | None = None  # (key, expires_at): see LogStore.append
    owner: str = field(default_factory=lambda: secrets.token_hex(8))  # tells this request's claim from a replay's
    publish: bool = False  # sign a checkpoint covering this request in its own transaction
    expects: dict[str, str] = field(default_factory=dict)  # meta values it was decided under: see LogStore.append
    first: int = -1
    done: bool = False  # the group commit that took it has ended
    sequenced: bool = False  # handed to a sequencer, which sets `first` or `error` later (Sequencer.wait)
    error: BaseException | None = None


@dataclass(frozen=True)
class AnchorRecord:
    """A checkpoint anchored on chain: its size and root, the transaction, block and the
    contract's anchor index."""

    size: int
    root: bytes
    tx: str
    block: int
    anchor_index: int


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


class StaleRead(MyDataError):
    """A meta value an append expected had changed by the time it was written: nothing of it
    was written (its claim neither), so the caller may decide again and retry."""

    problem_type = "stale-read"


class WriterLost(MyDataError):
    """The writer process failed after it took a batch: each request's outcome is unknown
    until `LogStore` reads it back by the request's claim."""

    problem_type = "log-writer-lost"


class WriterUnavailable(MyDataError):
    """No log writer process answers; nothing was sent, so the caller may commit itself."""

    problem_type = "log-writer-unavailable"


class TreeMoved(MyDataError):
    """Another writer advanced the tree head inside what should have been an exclusive
    append (the compare-and-swap failed): the batch was rolled back, nothing was written."""

    problem_type = "log-writer-lost"


class PresumptionFailed(MyDataError):
    """A presumed append (LogBackend.presumed_transaction) found the log other than this
    process last left it (the head moved, a meta value changed, a claim was taken):
    nothing was written, and the batch is written again the usual way."""

    problem_type = "log-writer-lost"


@dataclass(frozen=True)
class KnownState:
    """What this process last committed the log to be: its size, its latest checkpoint
    (size, signing time) and the values of the meta keys it read or wrote ("" for unset).
    A presumed append starts from it instead of reading it back."""

    size: int
    last_checkpoint: tuple[int, float] | None
    metas: dict[str, str]


class WrongLogKey(MyDataError):
    """This process signs with another key than the log was started with: its checkpoints
    would not verify, so it must not append (a replica with a stray data directory)."""

    problem_type = "wrong-log-key"


class Committer(Protocol):
    """Commits a batch elsewhere (the log writer process), setting each request's `first`
    or `error`; raises WriterUnavailable if it could not take the batch."""

    def commit(self, batch: list[AppendRequest]) -> None: ...


class Sequencer(Protocol):
    """Where appends wait for one sequencer to integrate them (PostgreSQL replicas): the log
    is then written by whichever process holds the sequencer's lock, in batches that gather
    the appends of every replica."""

    def submit(self, batch: list[AppendRequest]) -> None:
        """Hand `batch` to the sequencer, each request marked `sequenced`: its outcome comes
        by `wait`."""
        ...

    def wait(self, request: AppendRequest) -> None:
        """Block until `request` has its outcome: `first` once the sequencer's transaction
        holding it is durable, or `error` (a refused claim; a failed integration; no
        sequencer in time, and then the request is withdrawn: nothing of it stays)."""
        ...

    def adopt(self, request: AppendRequest) -> None:
        """Wait here for `request`, submitted by another process (a writer process that died)
        with its claim stored: it is marked `sequenced`, its outcome comes by `wait`."""
        ...


class AppendTransaction(Protocol):
    """One exclusive write transaction on the log: no other writer, in any process or
    replica, appends until it ends. Leaving the `with` block commits (durably) or, on an
    exception, rolls back. The row writes (add_*, set_meta, add_checkpoint) are not read
    back inside it: a backend may hold them and send them with `advance`, or at commit."""

    def size(self) -> int:
        """The number of committed entries (the tree head), read inside the transaction."""
        ...

    def last_checkpoint(self) -> tuple[int, float] | None:
        """(size, signing time) of the latest checkpoint, read inside the transaction."""
        ...

    def edge(self) -> list[bytes] | None:
        """The tree's right edge at size(), if the backend keeps it with the head (None: read
        it from the stored nodes)."""
        ...

    def hashes(self, keys: list[int]) -> list[bytes]:
        """The stored node hashes of `keys` (node_key), in order."""
        ...

    def prune_claims(self, now: float) -> None: ...

    def claim_all(self, claims: list[tuple[str, float, str, int]]) -> set[tuple[str, str]]:
        """Store claims (key, expires_at, owner, offset) in order; the (key, owner) pairs
        stored now. A key claimed before (and unexpired), or earlier in the same list, is not
        stored. Each is stored with first index size() + offset: its append's, if every
        append before it in the batch is written (set_firsts corrects the others)."""
        ...

    def set_firsts(self, firsts: list[tuple[str, int]]) -> None:
        """Record the first index of stored claims' appends (key, first)."""
        ...

    def claim_of(self, key: str) -> tuple[int, str] | None:
        """(first index, owner token) of a stored claim."""
        ...

    def drop_claims(self, claims: list[tuple[str, str]]) -> None:
        """Delete the stored claims (key, owner): appends that were not written after all."""
        ...

    def metas(self, keys: list[str]) -> Callable[[], dict[str, str]]:
        """How to read the meta values of `keys` that are set, inside the transaction (a
        pipelining backend sends the query now and answers it with the next one)."""
        ...

    def add_entries(self, rows: list[tuple[int, bytes]]) -> None: ...

    def add_nodes(self, nodes: list[tuple[int, bytes]]) -> None: ...

    def add_checkpoint(self, size: int, root: bytes, note: str, signed_at: float) -> None: ...

    def set_meta(self, items: dict[str, str]) -> None: ...

    def add_keys(self, pairs: list[tuple[str, int]]) -> None: ...

    def advance(self, old_size: int, new_size: int, edge: list[bytes]) -> None:
        """Move the tree head from `old_size` to `new_size`, whose right edge is `edge`
        (TreeMoved if it is not at `old_size` any more)."""
        ...


class LogBackend(Protocol):
    """Where a log keeps its rows. Reads see committed state; `snapshot` pins one state
    for the reads of this thread inside it."""

    def checkpoint_size(self) -> int:
        """The size of the latest signed checkpoint."""
        ...

    def head_size(self) -> int:
        """The number of committed entries (some may not be in a checkpoint yet)."""
        ...

    def checkpoint_time(self) -> float:
        """When the latest checkpoint was signed (0 if none was)."""
        ...

    def hashes(self, keys: list[int]) -> list[bytes]:
        """Stored node hashes of `keys`, in order; LogError naming the first missing one."""
        ...

    def hash_range(self, lo: int, hi: int) -> list[bytes]:
        """Stored node hashes with lo <= key < hi, in key order."""
        ...

    def entries(self, start: int, end: int) -> list[bytes]: ...

    def signed_root(self, size: int) -> bytes | None: ...

    def next_checkpoint(self, size: int) -> tuple[int, bytes] | None:
        """(size, root) of the first checkpoint beyond `size`."""
        ...

    def signed_roots(self) -> dict[int, bytes]: ...

    def latest_checkpoint(self) -> str | None: ...

    def checkpoint_at(self, size: int) -> str | None: ...

    def snapshot(self) -> AbstractContextManager[None]: ...

    def get_metas(self, keys: Sequence[str]) -> dict[str, str]: ...

    def find(self, key: str) -> list[int]: ...

    def forget(self, key: str) -> int: ...

    def append_transaction(self) -> AbstractContextManager[AppendTransaction]: ...

    def presumed_transaction(self, known: KnownState) -> AbstractContextManager[AppendTransaction] | None:
        """An append transaction that reads nothing first: it starts from `known` and sends
        the whole batch as one statement, which writes nothing (PresumptionFailed) unless
        the head, the meta values the batch reads and its claims are as presumed. For a
        backend whose reads are round trips to a server; None if it has none to save."""
        ...

    def record_anchor(self, rec: AnchorRecord) -> None:
        """Store an anchor (again: a second record of one size is ignored)."""
        ...

    def add_cosignatures(self, size: int, lines: str) -> None:
        """Append signature `lines` to the stored checkpoint of `size`."""
        ...

    def anchors(self) -> list[AnchorRecord]: ...

    def anchor_covering(self, index: int) -> AnchorRecord | None: ...

    def latest_anchor(self) -> AnchorRecord | None: ...

    def last_anchor_time(self) -> float: ...


class LogStore:
    """An append-only RFC 9162 log with C2SP checkpoints signed by `signer`, kept by `backend`."""

    def __init__(
        self,
        backend: LogBackend,
        origin: str,
        signer: Signer,
        writer: Committer | None = None,
        publish_seconds: float = PUBLISH_SECONDS,
        sequencer: Sequencer | None = None,
    ):
        self.backend = backend
        self.writer = writer
        self.sequencer = sequencer
        self.publish_seconds = publish_seconds
        self._writer_missed = False
        self.origin = origin
        self.signer = signer
        self._range: merkle.CompactRange | None = None  # the tree's right edge as this process last committed it
        self._known: KnownState | None = None  # the rest of what it last committed (a presumed append's start)
        self._queue: list[AppendRequest] = []
        self._queue_cond = threading.Condition()
        self._committing = False
        self._claims_pruned_at = 0.0
        self._expected_keys: set[str] = set()  # meta keys appends expected (see `expects`): read with each batch's claims
        self._check_signing_key()

    def _check_signing_key(self) -> None:
        """Record the signer's key with a new log (and an older log that never recorded one);
        refuse to serve a log recorded with another key (WrongLogKey)."""
        vkey = self.signer.verifier.vkey
        recorded = self.get_meta(SIGNING_KEY_META)
        if recorded is None:
            self.append([], {SIGNING_KEY_META: vkey})
        elif recorded != vkey:
            raise WrongLogKey(f"this log is signed by {recorded}, but this process holds {vkey}: use the operator's provisioned keys")

    # ---- reads -----------------------------------------------------------------
    @property
    def size(self) -> int:
        """The published tree size: that of the latest signed checkpoint, which every proof,
        tile and audit is checked against (see the module doc)."""
        return self.backend.checkpoint_size()

    @property
    def head(self) -> int:
        """The number of durable entries, published or not (other processes and replicas
        may append to the same log)."""
        return self.backend.head_size()

    def subtree(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) from stored perfect subtrees (end <= size), read in one call."""
        return merkle.fold_right(self.backend.hashes([node_key(lvl, i) for lvl, i in merkle.perfect_subtrees(start, end)]))

    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        self._check_size(size)
        return self.subtree(0, size) if size else merkle.EMPTY_ROOT

    def _check_size(self, size: int) -> None:
        if not 0 <= size <= self.size:
            raise LogError(f"tree size {size} is beyond the log size {self.size}")

    def entry(self, index: int) -> bytes:
        found = self.backend.entries(index, index + 1) if index >= 0 else []
        if not found:
            raise LogError(f"no entry at index {index}")
        return found[0]

    def entries(self, start: int, end: int) -> list[bytes]:
        return self.backend.entries(start, end)

    def level_hashes(self, level: int, start: int, end: int) -> list[bytes]:
        """Stored node hashes at one tree level for indices [start, end)."""
        return self.backend.hash_range(node_key(level, start), node_key(level, end))

    def signed_root(self, size: int) -> bytes | None:
        """The root this log signed in its checkpoint of `size`, if it signed one."""
        return self.backend.signed_root(size)

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
        later = self.backend.next_checkpoint(size)
        if later is None:
            raise LogCorrupt(f"no signed checkpoint covers size {size}")
        root = self.root(size)
        try:
            merkle.verify_consistency(size, later[0], root, later[1], merkle.consistency_path(size, later[0], self.subtree))
        except merkle.ProofError:
            raise LogCorrupt(f"stored hashes at size {size} are inconsistent with checkpoint {later[0]}") from None
        return root

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, size) from stored nodes, verified against the signed root before it is
        returned (LogCorrupt if a stored hash was altered). Without a size: in the published
        tree, published first (on demand) if the entry is durable but not yet in it."""
        size = self.covering_size(index) if size is None else size
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

        Returns the number of entries checked (published or not); raises LogCorrupt naming
        the first stored hash that differs. The operator runs this before it serves or
        appends (a corrupt right-edge node would otherwise poison every later root)."""
        size = max(self.head, self.size)  # (a lost last entry shrinks SQLite's head, not its checkpoint)
        signed = self.backend.signed_roots()
        rng = merkle.CompactRange()
        pending: list[tuple[int, int, bytes]] = []

        def compare() -> None:
            if not pending:
                return
            try:
                stored = self.backend.hashes([node_key(level, index) for level, index, _ in pending])
            except LogError as exc:
                raise LogCorrupt(f"a stored node is missing: {exc}") from None
            for (level, index, h), got in zip(pending, stored, strict=True):
                if got != h:
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
            raise LogCorrupt(f"the log holds {rng.size} entries, its tree head or checkpoint says {size}")
        return size

    def latest_checkpoint(self) -> str | None:
        return self.backend.latest_checkpoint()

    def checkpoint_at(self, size: int) -> str | None:
        return self.backend.checkpoint_at(size)

    def add_cosignatures(self, size: int, lines: Sequence[str]) -> None:
        """Keep witnesses' cosignature lines with the checkpoint of `size` (each a note
        signature line; verifiers check them against the witnesses they trust)."""
        if any(not line.startswith(note.SIG_PREFIX) or not line.endswith("\n") or line.count("\n") != 1 for line in lines):
            raise LogError("a cosignature must be one note signature line")
        if self.checkpoint_at(size) is None:
            raise LogError(f"no checkpoint of size {size}")
        self.backend.add_cosignatures(size, "".join(lines))

    def snapshot(self) -> AbstractContextManager[None]:
        """Reads on this thread inside see one state of the log (one read transaction)."""
        return self.backend.snapshot()

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        return self.backend.get_metas([key]).get(key, default)

    def get_metas(self, *keys: str) -> dict[str, str]:
        """The meta values of `keys` that are set, read in one snapshot."""
        return self.backend.get_metas(keys)

    def find(self, key: str) -> list[int]:
        """Indices of the entries appended under lookup key `key`, oldest first."""
        return self.backend.find(key)

    def forget(self, key: str) -> int:
        """Drop a private lookup key (erasure): the entries stay, nothing links them to `key`."""
        return self.backend.forget(key)

    # ---- publishing ------------------------------------------------------------
    def covering_size(self, index: int) -> int:
        """The published size, once it covers entry `index` if that entry is durable: an
        entry not yet published is published now (on demand); an index beyond the head
        publishes nothing (a reader cannot make the log sign for entries that do not exist)."""
        size = self.size
        return size if index < size or index >= self.head else self.publish()

    def publish(self) -> int:
        """Sign a checkpoint of every durable entry now, unless the latest already covers them;
        returns the published size. (One short exclusive transaction: the root comes from
        this process's copy of the right edge, or the stored nodes.)"""
        with self.backend.append_transaction() as tx:
            head, last = tx.size(), tx.last_checkpoint()
            if last is not None and last[0] >= head:
                return last[0]
            self._sign(tx, self._edge(tx, head))
        return head

    def publish_if_due(self, now: float | None = None) -> bool:
        """Publish if entries wait and the latest checkpoint is `publish_seconds` old (the
        background loop calls this, so that the last appends before a pause are published)."""
        if self.head <= self.size or (now or time.time()) - self.backend.checkpoint_time() < self.publish_seconds:
            return False
        self.publish()
        return True

    def _sign(self, tx: AppendTransaction, edge: merkle.CompactRange) -> None:
        cp = Checkpoint(self.origin, edge.size, edge.root())
        tx.add_checkpoint(cp.size, cp.root, sign_checkpoint(cp, self.signer), time.time())

    # ---- writes ----------------------------------------------------------------
    def append(
        self,
        entries: Sequence[bytes],
        meta: dict[str, str] | None = None,
        keys: Sequence[Sequence[str]] | None = None,
        claim: tuple[str, float] | None = None,
        publish: bool = False,
        expects: dict[str, str] | None = None,
    ) -> int:
        """Durably append entries, their lookup keys and meta values in one transaction.

        `keys[i]` lists the lookup keys of `entries[i]` (see `find`). Returns the first index.
        `claim` (key, expires_at) makes the append conditional: if that key was claimed
        before and has not expired, nothing is written and ClaimTaken is raised. (The
        release path claims a request's nonce this way: its replay check and its log entry
        are one write.) `publish` signs a checkpoint covering these entries in the same
        transaction (the chain follower's: its cursor and the events it logged must reach
        readers together, or an auditor would miss events below the followed block).
        `expects` (meta key -> value, "" for unset) makes it conditional on what the caller
        read: if any of them differs when the append is written, after every append before
        it, nothing is written and StaleRead is raised (a release decided on a follower
        position read earlier is logged only if that position still holds). An
        append without a claim gets a random one: the claim records the first index, so an
        append whose writer died mid-commit is read back or redone, never lost and never
        doubled.
        Concurrent callers are group-committed: while one batch is being committed, new
        requests queue up, and the next leader commits them all at once, through the
        writer process if there is one (one round trip per batch), else the sequencer if
        there is one (the batch is handed over, and the next group may start while this one
        waits to be integrated), else here. Each caller returns once its own request is
        durable and has its index (or raises that batch's error).
        """
        claim = claim or (f"append:{secrets.token_hex(16)}", time.time() + APPEND_CLAIM_SECONDS)
        request = AppendRequest(list(entries), dict(meta or {}), [list(k) for k in keys or ()], claim, publish=publish, expects=dict(expects or {}))
        with self._queue_cond:
            self._queue.append(request)
            while not request.done:
                if self._committing:
                    self._queue_cond.wait()
                    continue
                self._committing = True  # this caller leads the next group commit
                # One scheduler turn first, so the callers woken with this one (the last
                # batch's, answered together) join this batch instead of the next.
                self._queue_cond.release()
                time.sleep(0)
                self._queue_cond.acquire()
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
        self.wait_for(request)
        if request.error is not None:
            raise request.error
        return request.first

    def wait_for(self, request: AppendRequest) -> None:
        """Return once a request this process wrote (`write`) has its outcome."""
        if request.sequenced and self.sequencer is not None:
            self.sequencer.wait(request)

    def _lead(self, batch: list[AppendRequest]) -> None:
        """Commit a group: send it to the host's writer process if there is one, else hand it
        to the sequencer if there is one, else commit it here."""
        if self.writer is not None:
            try:
                self.writer.commit(batch)
            except WriterUnavailable as exc:
                if not self._writer_missed:
                    log.warning("log writer unavailable, appending from this process: %s", exc)
                self._writer_missed = True
            else:
                lost = [req for req in batch if isinstance(req.error, WriterLost)]
                if lost:
                    self._recover(lost)
                return
        self.write(batch)

    def write(self, batch: list[AppendRequest]) -> None:
        """Write a group from this process (the writer process's step too): hand it to the
        sequencer if there is one (each request's outcome then comes by `Sequencer.wait`),
        else commit it here."""
        if self.sequencer is None:
            self.commit(batch)
            return
        try:
            self.sequencer.submit(batch)
        except BaseException as exc:  # every request of the batch fails with the submission
            for req in batch:
                req.error, req.sequenced = exc, False

    def _recover(self, lost: list[AppendRequest]) -> None:
        """The writer died holding these requests. Its transaction committed or rolled back
        whole: inside an exclusive transaction, a request whose claim is stored under its own
        owner token was committed (its first index is stored with it) or, with a sequencer,
        submitted and still waits for it (first -1: it is waited for here); a claim stored by
        another request means this one was a replay; the others are written again here."""
        log.warning("log writer lost %d appends mid-commit; reading back or redoing them", len(lost))
        redo = []
        with self.backend.append_transaction() as tx:
            for req in lost:
                stored = tx.claim_of(req.claim[0]) if req.claim else None
                req.error = None
                if stored is None:
                    redo.append(req)
                elif stored[1] != req.owner:
                    req.error = ClaimTaken(req.claim[0] if req.claim else "")
                elif stored[0] >= 0 or self.sequencer is None:
                    req.first = stored[0]
                else:
                    self.sequencer.adopt(req)
        if redo:
            self.write(redo)

    def commit(self, batch: list[AppendRequest]) -> None:
        """Write a batch of requests as one transaction, setting each one's `first` or
        `error` (every request fails with the transaction). One caller at a time per
        process (the group-commit leader, or the writer process); other writers wait on the
        backend's exclusive transaction."""
        try:
            with self.backend.append_transaction() as tx:
                new_range, _, known = self._write(tx, batch, lambda: [])
        except BaseException as exc:  # every request of the batch fails with the transaction
            for req in batch:
                req.error = exc
                req.first = -1
            return
        self._range, self._known = new_range, known

    def integrate(
        self, local: list[AppendRequest], take: Callable[[AppendTransaction], Callable[[], list[AppendRequest]]] | None
    ) -> list[AppendRequest]:
        """The sequencer's step: one exclusive transaction appends `local` (this process's
        requests, their claims made here) and the requests `take` (if given) draws inside it
        (appends other processes submitted, their claims stored then; `take` sends its query
        and returns how to read the answer, so both share one round trip). Returns the drawn
        requests with their first indices, once durable; each local one gets its `first`
        or `error` in place. Without requests to draw, it first tries a presumed append
        (`_integrate_presumed`): one round trip instead of two."""
        if take is None and local and self._integrate_presumed(local):
            return []
        with self.backend.append_transaction() as tx:
            new_range, drawn, known = self._write(tx, local, take(tx) if take else lambda: [])
        self._range, self._known = new_range, known
        return drawn

    def _integrate_presumed(self, local: list[AppendRequest]) -> bool:
        """Append `local` starting from what this process last committed (the sequencer, the
        log's only writer while it holds its lock, knows the head without reading it), in
        one statement that writes nothing unless the log is still as it was left. False if
        the backend has no such statement, or the log had moved on (another sequencer, a
        replayed claim, a meta value changed): then nothing was written and the requests
        are as they came, for the usual transaction."""
        known = self._known  # (set with the edge, `_range`, at the same size)
        if known is None:
            return False
        presumed = self.backend.presumed_transaction(known)
        if presumed is None:
            return False
        try:
            with presumed as tx:
                new_range, _, now_known = self._write(tx, local, lambda: [])
        except PresumptionFailed:
            for req in local:
                req.error, req.first = None, -1
            self._known = None
            return False
        self._range, self._known = new_range, now_known
        return True

    def _still_current(self, tx: AppendTransaction, requests: list[AppendRequest], current: dict[str, str]) -> list[AppendRequest]:
        """The requests whose expected meta values hold when they are written in turn (each
        after the meta writes of those before it; `current`: the values read with the batch's
        claims); the others fail with StaleRead, their claims dropped in `tx`."""
        unread = {key for req in requests for key in req.expects} - self._expected_keys
        if unread:  # (drawn requests another process submitted may expect other keys)
            self._expected_keys |= unread
            current.update(tx.metas(sorted(unread))())
        accepted, stale = [], []
        for req in requests:
            changed = [key for key, value in req.expects.items() if current.get(key, "") != value]
            if changed:
                req.error = StaleRead(f"{', '.join(changed)} changed since the append was decided")
                stale.append(req)
            else:
                accepted.append(req)
                current.update(req.meta)
        tx.drop_claims([(req.claim[0], req.owner) for req in stale if req.claim is not None])
        return accepted

    def _edge(self, tx: AppendTransaction, size: int) -> merkle.CompactRange:
        """The tree's right edge at `size`: this process's copy; when another process or
        replica appended since, the copy the backend keeps with the head, or else one read
        from the stored nodes."""
        if self._range is not None and self._range.size == size:
            return self._range
        stored = tx.edge()
        if stored is not None:
            return merkle.CompactRange(size, stored)
        return merkle.CompactRange(size, tx.hashes([node_key(level, index) for level, index in merkle.perfect_subtrees(0, size)]) if size else [])

    def _write(
        self, tx: AppendTransaction, batch: list[AppendRequest], drawn: Callable[[], list[AppendRequest]]
    ) -> tuple[merkle.CompactRange, list[AppendRequest], KnownState]:
        """Write `batch`, whose claims are made here, and the requests `drawn` gives, whose
        claims were stored before (a sequencer's), in `tx`; the new edge, those drawn, and
        the log's state once `tx` commits."""
        now = time.time()
        if now - self._claims_pruned_at >= PRUNE_CLAIMS_SECONDS:
            tx.prune_claims(now)
            self._claims_pruned_at = now
        # claims and expected meta values before the head: a pipelining backend answers them
        # in one round trip
        self._expected_keys.update(key for req in batch for key in req.expects)
        read_metas = tx.metas(sorted(self._expected_keys)) if self._expected_keys else dict
        offsets = itertools.accumulate((len(req.entries) for req in batch), initial=0)
        claims = [(req.claim[0], req.claim[1], req.owner, offset) for req, offset in zip(batch, offsets, strict=False) if req.claim is not None]
        won = tx.claim_all(claims)
        stored_offset = {(key, owner): offset for key, _, owner, offset in claims}
        sequenced = drawn()
        first = tx.size()
        new_range = self._edge(tx, first).copy()
        nodes: list[tuple[int, bytes]] = []
        rows: list[tuple[int, bytes]] = []
        unclaimed = []
        for req in batch:
            if req.claim is not None and (req.claim[0], req.owner) not in won:
                req.error = ClaimTaken(req.claim[0])
            else:
                unclaimed.append(req)
        metas = read_metas()
        accepted = self._still_current(tx, unclaimed + sequenced, metas)
        for req in accepted:
            req.first = first + len(rows)
            for data in req.entries:
                rows.append((first + len(rows), data))
                new_range.append(merkle.leaf_hash(data), lambda lvl, i, h: nodes.append((node_key(lvl, i), h)))
        tx.add_entries(rows)
        tx.add_nodes(nodes)
        last = tx.last_checkpoint()
        asked = any(req.publish for req in accepted)
        if last is None or (new_range.size > last[0] and (asked or time.time() - last[1] >= self.publish_seconds)):
            self._sign(tx, new_range)  # a new log's empty checkpoint, one asked for, or the interval's
            last = (new_range.size, time.time())
        tx.set_firsts(  # those behind a refused append, and those drawn (stored with first -1)
            [(req.claim[0], req.first) for req in accepted if req.claim is not None and stored_offset.get((req.claim[0], req.owner)) != req.first - first]
        )
        tx.set_meta({k: v for req in accepted for k, v in req.meta.items()})  # a later request's value wins, as if written in turn
        tx.add_keys([(k, req.first + i) for req in accepted for i, ks in enumerate(req.keys) for k in ks])
        tx.advance(first, new_range.size, new_range.hashes)
        # every expected key was read in tx, and `metas` now holds what the batch wrote too
        return new_range, sequenced, KnownState(new_range.size, last, {key: metas.get(key, "") for key in self._expected_keys} | metas)

