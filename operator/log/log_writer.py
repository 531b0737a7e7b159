"""One process writes the log for all of an operator's workers.

Workers send appends over a Unix socket; the writer reads every request that is ready,
commits them as one transaction (on PostgreSQL: hands them to the log's sequencer as one
batch, LogStore.write) and answers each with its first index once durable. Appends the
sequencer answers later (in another thread, or another replica's process) are answered by
a thread of their own, so that the writer reads and hands over the next batch meanwhile:
the sequencer integrates it as soon as the last one is committed, and a replica that does
not hold the sequencer's lock keeps more than one batch in flight.

Why a process: a commit leader inside a busy worker holds the log's cross-process lock
while it waits for the GIL after each SQLite call, and every other worker waits with it
(measured: a 1 ms commit took 5–12 ms beside two busy threads). The writer has no
request threads competing for its GIL, so the lock is held only for the work.

Frames are a 4-byte big-endian length and a JSON object: a request (storage/append_codec.py:
its owner token is stored with the claim, so a worker whose writer died can tell its own
committed append from a replay's), a reply `{"first": n}`, `{"taken": key}` (the claim was
made before), `{"stale": why}` (a meta value it expected had changed) or `{"error": "…"}`.
"""

from __future__ import annotations

import json
import os
import queue
import select
import selectors
import socket
import struct
import threading
from pathlib import Path

from ledger.errors import MyDataError
from storage.append_codec import decode_request, encode_request
from storage.log import AppendRequest, ClaimTaken, LogStore, StaleRead, WriterLost, WriterUnavailable

_LENGTH = struct.Struct(">I")
MAX_FRAME = 64 << 20
MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes on Linux


class LogWriterError(MyDataError):
    """The writer reported that the commit failed."""

    problem_type = "log-writer-failed"


def frame(payload: bytes) -> bytes:
    return _LENGTH.pack(len(payload)) + payload


def _take_frames(buffer: bytearray) -> list[bytes]:
    """Remove and return every complete frame at the start of `buffer`."""
    frames = []
    while len(buffer) >= _LENGTH.size:
        (size,) = _LENGTH.unpack_from(buffer)
        if size > MAX_FRAME:
            raise ValueError(f"frame of {size} bytes exceeds {MAX_FRAME}")
        if len(buffer) < _LENGTH.size + size:
            break
        frames.append(bytes(buffer[_LENGTH.size : _LENGTH.size + size]))
        del buffer[: _LENGTH.size + size]
    return frames


def _reply_of(req: AppendRequest) -> dict:
    if req.error is None:
        return {"first": req.first}
    if isinstance(req.error, ClaimTaken):
        return {"taken": req.error.key}
    if isinstance(req.error, StaleRead):
        return {"stale": str(req.error)}
    return {"error": f"{type(req.error).__name__}: {req.error}"}


class LogWriterServer:
    """Serves appends to `store` on a Unix socket at `path` (owner only) until `stop()`."""

    def __init__(self, store: LogStore, path: str | Path):
        self.store, self.path = store, Path(path)
        self.path.unlink(missing_ok=True)  # left by a writer that crashed
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o077)
        try:
            self._listener.bind(str(self.path))
        finally:
            os.umask(old)
        self._listener.listen(256)
        self._listener.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._stopping = threading.Event()
        self._sending = threading.Lock()  # replies come from two threads
        self._awaited: queue.SimpleQueue[list[tuple[socket.socket, AppendRequest]] | None] = queue.SimpleQueue()

    def serve_forever(self) -> None:
        replier = threading.Thread(target=self._reply_when_answered, name="log-writer-replies", daemon=True)
        replier.start()
        try:
            while not self._stopping.is_set():
                batch: list[tuple[socket.socket, AppendRequest]] = []
                for key, _ in self._selector.select(timeout=0.2):
                    if key.fileobj is self._listener:
                        self._accept()
                    else:
                        batch.extend(self._read(key.fileobj, key.data))
                if batch:
                    self._commit(batch)
        finally:
            self._awaited.put(None)  # the batches handed over are answered first
            replier.join()
            self.close()

    def stop(self) -> None:
        """Finish the batch in hand, then return from `serve_forever` (signal-safe)."""
        self._stopping.set()

    def close(self) -> None:
        for key in list(self._selector.get_map().values()):
            key.fileobj.close()
        self._selector.close()
        self.path.unlink(missing_ok=True)

    def _accept(self) -> None:
        try:
            conn, _ = self._listener.accept()
        except BlockingIOError:
            return
        conn.setblocking(False)
        self._selector.register(conn, selectors.EVENT_READ, bytearray())

    def _drop(self, conn: socket.socket) -> None:
        try:
            self._selector.unregister(conn)
        except (KeyError, ValueError):
            pass  # dropped already
        conn.close()

    def _read(self, conn: socket.socket, buffer: bytearray) -> list[tuple[socket.socket, AppendRequest]]:
        try:
            chunk = conn.recv(1 << 20)
        except BlockingIOError:
            return []
        except OSError:
            chunk = b""
        if not chunk:
            self._drop(conn)
            return []
        buffer += chunk
        try:
            return [(conn, decode_request(p)) for p in _take_frames(buffer)]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:  # a client that breaks the protocol
            self._reply(conn, {"error": f"bad request: {exc}"})
            self._drop(conn)
            return []

    def _commit(self, batch: list[tuple[socket.socket, AppendRequest]]) -> None:
        """Write `batch`; answer it now if it is done, else hand it to the replies' thread.
        (A worker sends its next batch only once this one is answered, so each connection's
        replies stay in order.)"""
        try:
            self.store.write([req for _, req in batch])
        except Exception as exc:  # noqa: BLE001 - e.g. the lock file vanished: fail these, keep serving
            for _, req in batch:
                req.error = exc
        if any(req.sequenced for _, req in batch):
            self._awaited.put(batch)
        else:
            self._answer(batch)

    def _reply_when_answered(self) -> None:
        """Answer the batches handed over, in turn, as the sequencer settles them."""
        while (batch := self._awaited.get()) is not None:
            self._answer(batch)

    def _answer(self, batch: list[tuple[socket.socket, AppendRequest]]) -> None:
        try:
            for _, req in batch:
                self.store.wait_for(req)
        except Exception as exc:  # noqa: BLE001 - the wait itself failed: fail these, keep serving
            for _, req in batch:
                req.error = exc
        for conn, req in batch:
            self._reply(conn, _reply_of(req))

    def _reply(self, conn: socket.socket, obj: dict) -> None:
        """Send a reply; a connection that cannot take it is dropped when it is next read."""
        try:
            with self._sending:
                conn.sendall(frame(json.dumps(obj, separators=(",", ":")).encode()))  # one small reply per request in flight: fits the buffer
        except OSError:
            pass


class LogWriterClient:
    """A worker's side: one connection to the writer at `path`, used by one committer at a
    time (the LogStore's group-commit leader), which sends its whole batch at once."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        self._conn: socket.socket | None = None

    def commit(self, batch: list[AppendRequest]) -> None:
        """Have the writer commit `batch`, setting each request's `first` or `error`.

        Raises WriterUnavailable, with nothing sent, if no writer answers. If the writer
        fails after the send, each request gets WriterLost: its outcome is unknown until
        the log store reads it back."""
        conn = self._connection()
        frames = b"".join(frame(encode_request(r)) for r in batch)
        try:
            conn.sendall(frames)
            replies = self._receive(conn, len(batch))
        except (OSError, ValueError) as exc:
            self._forget()
            for req in batch:
                req.error = WriterLost(f"the log writer failed during an append: {exc}")
            return
        for req, reply in zip(batch, replies, strict=True):
            if "taken" in reply:
                req.error = ClaimTaken(reply["taken"])
            elif "stale" in reply:
                req.error = StaleRead(reply["stale"])
            elif "error" in reply:
                req.error = LogWriterError(reply["error"])
            else:
                req.first = reply["first"]

    def _connection(self) -> socket.socket:
        if self._conn is not None and not self._idle(self._conn):
            self._forget()  # the writer closed it while idle (restarted or gone)
        if self._conn is None:
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                conn.connect(self.path)
            except OSError as exc:
                conn.close()
                raise WriterUnavailable(f"{self.path}: {exc.strerror or exc}") from None
            self._conn = conn
        return self._conn

    @staticmethod
    def _idle(conn: socket.socket) -> bool:
        """True if nothing (not even end of stream) waits on a connection between batches.
        (poll, not a non-blocking peek: under gevent a peek would wait for data.)"""
        poller = select.poll()
        poller.register(conn, select.POLLIN)
        return not poller.poll(0)

    def _forget(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None

    @staticmethod
    def _receive(conn: socket.socket, count: int) -> list[dict]:
        """The next `count` reply frames, in the order their requests were sent."""
        buffer, replies = bytearray(), []
        while len(replies) < count:
            chunk = conn.recv(65536)
            if not chunk:
                raise ConnectionError("the log writer closed the connection")
            buffer += chunk
            replies += [json.loads(f) for f in _take_frames(buffer)]
        return replies
