"""One sequencer writes the log for every replica (Trillian's signer, Tessera's integrator).

The *sequencer* is whichever process holds a session-level advisory lock on its listening
connection: the server releases it when that connection dies, and every appending process
tries to take it every `retry_seconds`, so another takes over within about that long.

The processes that seek the lock are those that append: each replica's log writer
process (its workers send their appends there), or a worker whose writer is gone.
In the sequencer's own process an append is handed over in memory. Any other process
*submits* it: one short transaction stores its claim (a replayed nonce is refused at once,
on every replica) and the request in `log_pending`, and wakes the sequencer (NOTIFY
log_pending). That transaction commits without waiting for its WAL flush
(`synchronous_commit = off`): nobody is answered on it, and the sequencer's commit, which
is flushed, lies later in the WAL and so makes it durable too.

The sequencer appends its process's requests and every pending one, from all replicas, in
one transaction with the tree head locked (`LogStore.integrate`: the head's
compare-and-swap keeps a sequencer that lost its lock unnoticed from forking the log); once
that commits it NOTIFYs log_integrated with each request's first index, or STALE for one
that expected a meta value that had changed (LogStore.append's `expects`: nothing of it was
written, its claim neither); a process that missed a notification reads the outcomes from
the claims (a stale request's claim and pending row are both gone). Every append is
answered only after that commit: durable, with its index.

A submitted append that no sequencer integrates within `wait_seconds` is withdrawn (its
pending row and claim deleted, unless the sequencer took it meanwhile) and fails with
SequencerUnavailable (HTTP 503): it is then as if never made. A failed integration (a lost
connection, a full disk) is rolled back: the sequencer's own requests in it fail with its
error, the submitted ones stay pending, and the sequencer starts over after POLL_SECONDS.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import psycopg

from ..append_codec import encode_request
from ..errors import StorageUnavailable
from ..log import AppendRequest, ClaimTaken, StaleRead
from .locks import lock_key
from .pool import PostgresDatabase

log = logging.getLogger(__name__)

SEQUENCER_LOCK = "log-sequencer"
WAIT_SECONDS = 10.0  # a submitted append waits this long for a sequencer (a handover takes about retry_seconds)
RETRY_SECONDS = 1.0  # a process without the lock tries to take it this often
POLL_SECONDS = 0.5  # waits for news end this often, to look for missed work
BATCH_LIMIT = 5000  # submitted requests integrated per transaction at most
SUBMITTERS_SECONDS = 5.0  # after a submission, the sequencer draws pending rows in every transaction this long (sooner than waiting for each notification)
APPLICATION_NAME = "mydata log sequencer, pid "  # the listening session's name: `sequencer_pid` reads it
NOTIFY_BYTES = 7900  # a NOTIFY payload holds less than 8000 bytes
STALE = -2  # announced instead of a first index: the request failed with StaleRead

_SUBMIT = (  # one statement, so one transaction that needs no BEGIN and COMMIT of its own
    "WITH r AS (SELECT * FROM unnest(%b::text[], %b::float8[], %b::text[], %b::bytea[]) WITH ORDINALITY AS r(key, expires_at, owner, request, n)),"
    " c AS (INSERT INTO log_claims (key, expires_at, first, owner) SELECT key, expires_at, -1, owner FROM r ORDER BY n"
    " ON CONFLICT DO NOTHING RETURNING key, owner),"
    " p AS (INSERT INTO log_pending (claim, request) SELECT r.key, r.request FROM r JOIN c ON c.key = r.key AND c.owner = r.owner ORDER BY r.n"
    " RETURNING claim)"
    # its commit need not wait for a WAL flush: the sequencer's durable commit flushes it too
    " SELECT p.claim FROM p, (SELECT set_config('synchronous_commit', 'off', true), pg_notify('log_pending', '')) AS settings"
)


class SequencerUnavailable(StorageUnavailable):
    """No sequencer integrated the append in time: it was withdrawn, nothing of it stays."""

    problem_type = "log-sequencer-unavailable"


class PostgresSequencer:
    """Hands this process's appends to the sequencer and, while it holds the lock, sequences
    everyone's."""

    def __init__(
        self,
        db: PostgresDatabase,
        integrate: Callable[[list[AppendRequest], bool], list[AppendRequest]],
        wait_seconds: float = WAIT_SECONDS,
        retry_seconds: float = RETRY_SECONDS,
    ):
        """`integrate(local, pending)` appends `local` and (if `pending`) up to BATCH_LIMIT
        pending requests in one transaction, returning the pending ones with their indices
        (LogStore.integrate)."""
        self.db, self._integrate_with = db, integrate
        self.wait_seconds, self.retry_seconds = wait_seconds, retry_seconds
        # claim key -> this process's request awaiting its outcome, and a lock taken until it
        # has one (a lock, not an Event: one is made per append, and a lock costs far less)
        self._waiting: dict[str, tuple[AppendRequest, threading.Lock]] = {}
        self._submitted: set[str] = set()  # claim keys of this process's waiting requests stored as pending
        self._local: list[AppendRequest] = []  # handed over in memory, for this process's next integration
        self._in_flight: list[AppendRequest] = []  # this process's requests in the integration under way
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._wake_r, self._wake_w = -1, -1
        self._pid = 0
        self.leading = False  # whether this process holds the sequencer's lock now
        self._announced_at = -SUBMITTERS_SECONDS  # when a submission last woke this sequencer
        db.on_close(self.stop)

    # ---- appending ------------------------------------------------------------------
    def submit(self, batch: list[AppendRequest]) -> None:
        self._ensure_running()
        if any(req.claim is None for req in batch):
            raise ValueError("a sequenced append needs a claim (LogStore.append gives each one)")
        with self._lock:  # waiting before anything is sent: the sequencer may be quick
            self._waiting.update((req.claim[0], (req, _taken_lock())) for req in batch if req.claim is not None)
            for req in batch:
                req.sequenced = True
            if self.leading:
                self._local += batch
                self._wake()
                return
        self._submit_pending(batch)

    def adopt(self, request: AppendRequest) -> None:
        self._ensure_running()
        assert request.claim is not None, "a submitted request has a claim"
        with self._lock:
            self._waiting[request.claim[0]] = (request, _taken_lock())
            self._submitted.add(request.claim[0])
            request.sequenced = True

    def _submit_pending(self, batch: list[AppendRequest]) -> None:
        """Store `batch` for the sequencer, deciding its claims (a refused one is answered now)."""
        keys = [req.claim[0] for req in batch if req.claim is not None]
        try:
            with self.db.connection() as conn:
                stored = conn.execute(
                    _SUBMIT,
                    (keys, [req.claim[1] for req in batch if req.claim is not None], [req.owner for req in batch], [encode_request(req) for req in batch]),
                )
                accepted = {row[0] for row in stored.fetchall()}
        except Exception as exc:  # noqa: BLE001 - the batch fails whole (should the commit have
            self._answer(batch, exc)  # landed unseen, the log may hold an append reported failed, never the reverse)
            return
        self._answer([req for key, req in zip(keys, batch, strict=True) if key not in accepted], None, ClaimTaken)
        with self._lock:
            self._submitted.update(key for key in accepted if key in self._waiting)

    def wait(self, request: AppendRequest) -> None:
        assert request.claim is not None
        key = request.claim[0]
        deadline = time.monotonic() + self.wait_seconds
        while True:
            with self._lock:
                found = self._waiting.get(key)
                if found is None or found[0] is not request:
                    return  # answered
                answered, left = found[1], deadline - time.monotonic()
                if left <= 0 and not _holds(self._in_flight, request):  # (an integration in flight answers, whatever its outcome)
                    if not _holds(self._local, request):
                        break
                    self._local = [req for req in self._local if req is not request]  # never sent: nothing to take back
                    del self._waiting[key]
                    request.error = SequencerUnavailable(f"the log sequencer did not take the append in {self.wait_seconds:g} s")
                    return
            if answered.acquire(timeout=max(left, POLL_SECONDS)):
                answered.release()
        self._withdraw(request)

    def _withdraw(self, request: AppendRequest) -> None:
        """Take back a submitted request no sequencer integrated in time, or read its index
        if one did meanwhile (the pending row's lock orders this against the sequencer)."""
        assert request.claim is not None
        key = request.claim[0]
        self._forget([key])
        try:
            with self.db.transaction() as conn:
                if conn.execute("DELETE FROM log_pending WHERE claim = %s RETURNING id", (key,)).fetchone():
                    conn.execute("DELETE FROM log_claims WHERE key = %s AND owner = %s", (key, request.owner))
                    request.error = SequencerUnavailable(f"no log sequencer took the append in {self.wait_seconds:g} s; it was withdrawn")
                    return
                row = conn.execute("SELECT first FROM log_claims WHERE key = %s AND owner = %s", (key, request.owner)).fetchone()
        except StorageUnavailable as exc:
            request.error = exc
            return
        if row is None or row[0] < 0:
            request.error = SequencerUnavailable(f"the append claimed as {key} is neither pending nor in the log")
        else:
            request.first = row[0]

    def _forget(self, keys: list[str]) -> None:
        with self._lock:
            for key in keys:
                self._waiting.pop(key, None)
                self._submitted.discard(key)

    def _answer(self, batch: list[AppendRequest], error: BaseException | None, refusal: type[ClaimTaken] | None = None) -> None:
        """Answer these requests now: each with `error`, or a `refusal` of its claim, or
        (neither) with the `first` it holds."""
        with self._lock:
            for req in batch:
                assert req.claim is not None
                if error is not None:
                    req.error = error
                elif refusal is not None:
                    req.error = refusal(req.claim[0])
                self._answered(req.claim[0])

    def _settle(self, firsts: dict[str, int]) -> None:
        """Answer this process's submitted requests whose first index (or STALE) is now known."""
        with self._lock:
            for key, first in firsts.items():
                found = self._waiting.get(key)
                if found is not None:
                    if first == STALE:
                        found[0].error = StaleRead(f"the append claimed as {key} expected meta values that had changed")
                    else:
                        found[0].first = first
                    self._answered(key)

    def _answered(self, key: str) -> None:
        self._submitted.discard(key)
        found = self._waiting.pop(key, None)
        if found is not None:
            found[1].release()

    def _settle_from_claims(self) -> None:
        """Answer what a missed notification would have: a submitted request whose claim holds
        its first index was integrated; one whose claim and pending row are both gone was
        stale (the sequencer drops both in the transaction that refuses it)."""
        with self._lock:
            waiting = {key: req.owner for key, (req, _) in self._waiting.items()}
            submitted = self._submitted & set(waiting)
        if not waiting:
            return
        with self.db.connection() as conn:
            rows = conn.execute(
                "SELECT w.key, c.owner, c.first, EXISTS (SELECT 1 FROM log_pending p WHERE p.claim = w.key)"
                " FROM unnest(%b::text[]) AS w(key) LEFT JOIN log_claims c ON c.key = w.key",
                (list(waiting),),
            ).fetchall()
        outcomes = {}
        for key, owner, first, pending in rows:
            if owner == waiting[key] and first >= 0:
                outcomes[key] = first
            elif owner is None and not pending and key in submitted:
                outcomes[key] = STALE
        self._settle(outcomes)

    # ---- sequencing -----------------------------------------------------------------
    def _ensure_running(self) -> None:
        """Start this process's listening thread (again in a forked child: threads do not
        cross a fork, nor do the parent's waiting requests)."""
        if self._thread is not None and self._pid == os.getpid():
            return
        with self._lock:
            if self._thread is None or self._pid != os.getpid():
                self._waiting, self._submitted, self._local, self._in_flight, self._lock = {}, set(), [], [], threading.Lock()
                self._wake_r, self._wake_w = os.pipe()
                os.set_blocking(self._wake_w, False)  # a full pipe already holds a wake-up
                self._stopping.clear()
                self.leading = False
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="log-sequencer", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        """End the listening thread (and with its connection the lock, if held)."""
        self._stopping.set()
        if self._thread is not None and self._pid == os.getpid() and self._thread is not threading.current_thread():
            self._wake()
            self._thread.join(timeout=5)
            os.close(self._wake_r)
            os.close(self._wake_w)
        self._thread = None

    def _run(self) -> None:
        pid = os.getpid()
        while not self._stopping.is_set() and os.getpid() == pid:
            try:
                self._listen(pid)
            except Exception as exc:  # noqa: BLE001 - a lost connection or a failed batch: start over
                if not self._stopping.is_set():
                    log.warning("log sequencer: %s: %s; starting again", type(exc).__name__, exc)
            with self._lock:
                self.leading = False  # the lock went with the session
            self._stopping.wait(POLL_SECONDS)
        with self._lock:
            stranded, self._local = self._local, []
        self._answer(stranded, StorageUnavailable("the log sequencer stopped before it took the append"))

    def _listen(self, pid: int) -> None:
        """One session: seek the lock while without it; leading, integrate whenever appends
        wait; otherwise answer this process's submitted requests when the sequencer says so.
        A copy of this loop in a child forked meanwhile (greenlets, unlike threads, survive a
        fork) ends without a word on the parent's connection."""
        conn = psycopg.connect(self.db.url, autocommit=True, application_name=f"{APPLICATION_NAME}{pid}")
        try:
            # Its NOTIFY commits must not wait for a WAL flush: each holds the server's one
            # notification lock until its commit ends, and every submission's NOTIFY waits on it.
            conn.execute("SET synchronous_commit = off")
            conn.execute("LISTEN log_integrated")
            next_try, heard = 0.0, None
            while not self._stopping.is_set() and os.getpid() == pid:
                if not self.leading and time.monotonic() >= next_try:
                    next_try = time.monotonic() + self.retry_seconds
                    if _one(conn, "SELECT pg_try_advisory_lock(%s)", (lock_key(SEQUENCER_LOCK),)):
                        conn.execute("UNLISTEN log_integrated")  # it answers its own requests as it integrates
                        conn.execute("LISTEN log_pending")
                        with self._lock:
                            self.leading = True
                        heard = None  # look for what waited for the last sequencer
                if self.leading:
                    self._sequence(conn, None if heard is None else any(n.channel == "log_pending" for n in heard))
                else:
                    self._resubmit_local()
                    if heard:
                        self._settle(_firsts(n.payload for n in heard if n.channel == "log_integrated"))
                    else:  # the clock woke it: look for answers it may have missed
                        self._settle_from_claims()
                heard = _heard(conn)  # (notifications that came while it worked wait in psycopg, not on the socket)
                if not heard:
                    wait = POLL_SECONDS if self.leading else max(0.0, min(POLL_SECONDS, next_try - time.monotonic()))
                    ready = select.select([conn.fileno(), self._wake_r], [], [], wait)[0]
                    if self._wake_r in ready:
                        os.read(self._wake_r, 4096)
                    # None only when the clock woke it: a wake-up whose appends an integration
                    # under way took already is no reason to look for pending rows
                    heard = _heard(conn) or ([] if ready else None)
        finally:
            if os.getpid() == pid:
                conn.close()

    def _sequence(self, conn: psycopg.Connection, announced: bool | None) -> None:
        """Integrate what waits: this process's requests, and the pending ones while other
        processes submit (one was `announced` within SUBMITTERS_SECONDS; None: the clock
        woke it, so look), then tell the other processes each one's first index. Pending
        rows are looked for before a transaction of theirs alone, so an idle log commits
        nothing; a sequencer that appends alone never queries them."""
        while True:
            if announced:
                self._announced_at = time.monotonic()
            pending = announced is None or time.monotonic() - self._announced_at < SUBMITTERS_SECONDS
            with self._lock:
                local, self._local, self._in_flight = self._local, [], self._local
            if not local and not (pending and _one(conn, "SELECT EXISTS (SELECT 1 FROM log_pending)")):
                return
            try:
                drawn = self._integrate_with(local, pending)
            except BaseException as exc:
                self._answer(local, exc)
                raise
            finally:
                self._in_flight = []
            self._answer(local, None)
            self._settle({req.claim[0]: _outcome(req) for req in drawn if req.claim is not None})
            if drawn:
                conn.execute("SELECT pg_notify('log_integrated', p) FROM unnest(%b::text[]) AS p", (_payloads(drawn),))
            announced = len(drawn) >= BATCH_LIMIT or any(n.channel == "log_pending" for n in _heard(conn))
            if not announced and not self._local:
                return

    def _wake(self) -> None:
        """Wake the listening thread (it drains the pipe each round)."""
        with contextlib.suppress(BlockingIOError):
            os.write(self._wake_w, b"\0")

    def _resubmit_local(self) -> None:
        """Requests handed over in memory just as this process lost the lock go as pending."""
        with self._lock:
            local, self._local = self._local, []
        if local:
            self._submit_pending(local)


def sequencer_pid(db: PostgresDatabase) -> int | None:
    """The operating-system pid of the process that sequences the log now, if one does
    (for operators, and for the tests that kill it)."""
    key = lock_key(SEQUENCER_LOCK)
    with db.connection() as conn:
        name = _one(
            conn,
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted"
            " AND l.classid::bigint = %s AND l.objid::bigint = %s AND l.objsubid = 1",
            (key >> 32, key & 0xFFFFFFFF),
        )
    return int(name.removeprefix(APPLICATION_NAME)) if name and name.startswith(APPLICATION_NAME) else None


def _taken_lock() -> threading.Lock:
    lock = threading.Lock()
    lock.acquire()
    return lock


def _holds(requests: list[AppendRequest], request: AppendRequest) -> bool:
    return any(req is request for req in requests)


def _heard(conn: psycopg.Connection) -> list[psycopg.Notify]:
    """The notifications that have come (consumed)."""
    return list(conn.notifies(timeout=0))


def _payloads(drawn: list[AppendRequest]) -> list[str]:
    """log_integrated notifications saying each request's outcome: lines "claim first",
    as few as fit NOTIFY_BYTES each."""
    payloads: list[str] = []
    lines: list[str] = []
    size = 0
    for req in drawn:
        assert req.claim is not None
        line = f"{req.claim[0]} {_outcome(req)}"
        if size + len(line) + 1 > NOTIFY_BYTES and lines:
            payloads.append("\n".join(lines))
            lines, size = [], 0
        lines.append(line)
        size += len(line) + 1
    return payloads + ["\n".join(lines)]


def _outcome(req: AppendRequest) -> int:
    """What a log_integrated notification says of a drawn request: its first index, or STALE."""
    return STALE if isinstance(req.error, StaleRead) else req.first


def _firsts(payloads: Iterable[str]) -> dict[str, int]:
    """The first indices a sequencer's notifications announce (a claim key may hold
    spaces: the index follows the last one)."""
    return {key: int(first) for payload in payloads for line in payload.splitlines() for key, _, first in [line.rpartition(" ")]}


def _one(conn: psycopg.Connection, sql: str, args: tuple[Any, ...] = ()) -> Any:
    row = conn.execute(sql, args).fetchone()
    return row[0] if row else None
