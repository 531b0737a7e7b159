"""The log writer process's server and client: appends from many threads commit in
groups, a broken client cannot stop it, and workers commit themselves when it is gone."""

import os
import socket
import stat
import struct
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from consent_operator.log.log_writer import LogWriterClient, LogWriterError, LogWriterServer
from ledger.tlog import note
from ledger.tlog.checkpoint import open_checkpoint
from storage.log import AppendRequest, ClaimTaken, LogStore, WriterLost, WriterUnavailable
from storage.sqlite.log import SqliteLog

ORIGIN = "test.example/log"


@pytest.fixture
def signer():
    return note.Signer(ORIGIN, os.urandom(32))


class Running:
    """A writer serving `store` on `path` in a thread (the operator runs it in its own process)."""

    def __init__(self, store: LogStore, path):
        self.server = LogWriterServer(store, path)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.stop()
        self.thread.join(5)
        assert not self.thread.is_alive()


def commit_one(client: LogWriterClient, data: bytes) -> AppendRequest:
    req = AppendRequest([data], {}, [])
    client.commit([req])
    return req


@pytest.fixture
def writer(tmp_path, signer):
    running = Running(SqliteLog(tmp_path / "log.sqlite", ORIGIN, signer), tmp_path / "w.sock")
    yield running
    running.stop()


def test_appends_from_many_threads_get_distinct_indices_keys_and_a_signed_checkpoint(tmp_path, signer, writer):
    worker = SqliteLog(tmp_path / "log.sqlite", ORIGIN, signer, LogWriterClient(tmp_path / "w.sock"))
    entries = [f"entry {i}".encode() for i in range(200)]
    with ThreadPoolExecutor(16) as pool:
        firsts = list(pool.map(lambda i: worker.append([entries[i]], keys=[[f"k{i % 3}"]]), range(200)))
    assert sorted(firsts) == list(range(200))
    assert all(worker.entry(first) == entries[i] for i, first in enumerate(firsts))
    assert worker.find("k1") == sorted(f for i, f in enumerate(firsts) if i % 3 == 1)
    worker.append([], {"cursor": "7"})
    assert worker.get_meta("cursor") == "7"
    assert worker.head == 200 and worker.publish() == 200  # durable at once; published on demand
    cp = open_checkpoint(worker.latest_checkpoint(), signer.verifier, ORIGIN)
    assert cp.size == worker.size == 200 and cp.root == worker.root()


def test_a_batch_is_sent_at_once_and_each_request_gets_its_own_first_index(tmp_path, signer, writer):
    batch = [AppendRequest([b"a"], {}, [["ka"]]), AppendRequest([b"b", b"c"], {"m": "1"}, [["kb"], ["kc"]]), AppendRequest([b"d"], {}, [])]
    LogWriterClient(tmp_path / "w.sock").commit(batch)
    assert [r.first for r in batch] == [0, 1, 3] and all(r.error is None for r in batch)
    store = SqliteLog(tmp_path / "log.sqlite", ORIGIN, signer)
    assert [store.entry(i) for i in range(4)] == [b"a", b"b", b"c", b"d"]
    assert store.find("kc") == [2] and store.get_meta("m") == "1"


def test_a_taken_claim_is_reported_as_such_through_the_writer(tmp_path, signer, writer):
    worker = SqliteLog(tmp_path / "log.sqlite", ORIGIN, signer, LogWriterClient(tmp_path / "w.sock"))
    worker.append([b"read"], claim=("nonce:s n", 2e9))
    with pytest.raises(ClaimTaken):
        worker.append([b"replayed read"], claim=("nonce:s n", 2e9))
    assert worker.head == 1


def test_socket_is_private_to_the_operator(tmp_path, writer):
    assert stat.S_IMODE(os.stat(tmp_path / "w.sock").st_mode) & 0o077 == 0


def test_a_client_that_breaks_the_protocol_is_dropped_and_others_are_served(tmp_path, writer):
    for bad in (b"not json", b'{"entries": ["%%%"]}', b'{"entries": [], "meta": {"a": 1}}', b'{"entries": [], "keys": [[1]]}'):
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(tmp_path / "w.sock"))
            s.sendall(struct.pack(">I", len(bad)) + bad)
            reply = s.recv(65536)
            assert b"bad request" in reply
            assert s.recv(1) == b""  # then closed
    with socket.socket(socket.AF_UNIX) as s:  # a frame larger than any append
        s.connect(str(tmp_path / "w.sock"))
        s.sendall(struct.pack(">I", 1 << 31))
        assert b"exceeds" in s.recv(65536)
    assert commit_one(LogWriterClient(tmp_path / "w.sock"), b"fine").first == 0


def test_a_failed_commit_is_reported_to_each_caller_and_the_writer_keeps_serving(tmp_path, writer, monkeypatch):
    client = LogWriterClient(tmp_path / "w.sock")
    monkeypatch.setattr(writer.server.store, "_write", lambda *_: (_ for _ in ()).throw(OSError("disk full")))
    lost = commit_one(client, b"lost")
    assert isinstance(lost.error, LogWriterError) and "disk full" in str(lost.error)
    monkeypatch.undo()
    assert commit_one(client, b"kept").first == 0


def test_a_batch_waits_for_the_sequencer_while_the_writer_hands_over_the_next(tmp_path, signer, pg_url):
    """On PostgreSQL a batch the sequencer answers later is answered by a thread of its own:
    the writer submits the next batch meanwhile (here the sequencer's lock is held
    elsewhere, so both wait as pending rows, neither answered), and a sequencer that takes
    the lock answers both."""
    import time

    import psycopg

    from storage.postgres.locks import lock_key
    from storage.postgres.log import PostgresLog
    from storage.postgres.pool import PostgresDatabase
    from storage.postgres.sequencer import SEQUENCER_LOCK

    first = PostgresDatabase(pg_url)
    PostgresLog(first, ORIGIN, signer)  # the log's key stored (by an append), then the lock let go
    first.close()
    db = PostgresDatabase(pg_url)
    with psycopg.connect(pg_url, autocommit=True) as holder, ThreadPoolExecutor(2) as pool:
        holder.execute("SELECT pg_advisory_lock(%s)", (lock_key(SEQUENCER_LOCK),))
        running = Running(PostgresLog(db, ORIGIN, signer), tmp_path / "w.sock")
        futures = []
        for i in range(2):
            req = AppendRequest([b"batch %d" % i], {}, [], (f"claim {i}", time.time() + 300))  # (a sequenced append has one)
            futures.append(pool.submit(lambda r: LogWriterClient(tmp_path / "w.sock").commit([r]) or r, req))
            while holder.execute("SELECT count(*) FROM log_pending").fetchone()[0] <= i:
                assert not any(f.done() for f in futures)  # the first is not answered (nor withdrawn) meanwhile
                time.sleep(0.02)
        holder.execute("SELECT pg_advisory_unlock(%s)", (lock_key(SEQUENCER_LOCK),))
        answered = [f.result() for f in futures]
    assert [r.error for r in answered] == [None, None] and sorted(r.first for r in answered) == [0, 1]
    running.stop()
    db.close()


def test_without_a_writer_appends_commit_in_the_calling_process(tmp_path, signer):
    client = LogWriterClient(tmp_path / "nobody.sock")
    with pytest.raises(WriterUnavailable):
        client.commit([AppendRequest([b"x"], {}, [])])
    store = SqliteLog(tmp_path / "log.sqlite", ORIGIN, signer, client)
    assert store.append([b"x"], keys=[["k"]]) == 0 and store.find("k") == [0]


def test_a_restarted_writer_is_found_again_and_a_stopped_one_is_replaced_by_local_commits(tmp_path, signer, writer):
    worker = SqliteLog(tmp_path / "log.sqlite", ORIGIN, signer, LogWriterClient(tmp_path / "w.sock"))
    assert worker.append([b"a"]) == 0
    writer.stop()
    assert not (tmp_path / "w.sock").exists()
    assert worker.append([b"b"]) == 1  # committed by the worker itself
    again = Running(SqliteLog(tmp_path / "log.sqlite", ORIGIN, signer), tmp_path / "w.sock")
    try:
        assert worker.append([b"c"]) == 2  # the idle connection to the old writer is replaced
        assert [worker.entry(i) for i in range(3)] == [b"a", b"b", b"c"]
    finally:
        again.stop()
    writer.thread = again.thread  # the fixture's stop() finds it stopped


class DiesAfterTaking:
    """A writer that takes a batch and dies before answering: after committing it
    (`commits=True`) or before (`commits=False`)."""

    def __init__(self, store: LogStore, commits: bool):
        self.store, self.commits = store, commits

    def commit(self, batch):
        if self.commits:
            self.store.commit(batch)
        for req in batch:
            req.first, req.error = -1, WriterLost("connection reset")


@pytest.mark.parametrize("commits", [True, False])
def test_an_append_whose_writer_died_mid_commit_is_read_back_or_redone_once(tmp_path, signer, commits):
    writer_side = SqliteLog(tmp_path / "log.sqlite", ORIGIN, signer)
    worker = SqliteLog(tmp_path / "log.sqlite", ORIGIN, signer, DiesAfterTaking(writer_side, commits))
    assert worker.append([b"a", b"b"], keys=[["k"], ["k"]]) == 0
    assert worker.append([b"c"], claim=("nonce:1", 2e9)) == 2
    assert worker.head == 3 and [worker.entry(i) for i in range(3)] == [b"a", b"b", b"c"]
    assert worker.find("k") == [0, 1]
    assert worker.check() == 3


def test_a_replay_whose_writer_died_mid_commit_is_still_refused(tmp_path, signer):
    """The replayed claim is stored, but by the first request: reading it back must not pass
    the replay off as committed (at the first request's index)."""
    writer_side = SqliteLog(tmp_path / "log.sqlite", ORIGIN, signer)
    assert writer_side.append([b"release"], claim=("nonce:1", 2e9)) == 0
    worker = SqliteLog(tmp_path / "log.sqlite", ORIGIN, signer, DiesAfterTaking(writer_side, commits=True))
    with pytest.raises(ClaimTaken):
        worker.append([b"replayed release"], claim=("nonce:1", 2e9))
    assert worker.head == 1


def test_a_writer_killed_under_load_loses_no_acknowledged_append_and_doubles_none(tmp_path, signer):
    """SIGKILL the real writer process while eight threads append: every acknowledged append
    is in the log at its index, once; appends in flight are read back or redone."""
    import signal
    import subprocess
    import sys
    import time

    from consent_operator import keystore

    data = tmp_path / "op"
    data.mkdir()
    origin = "mydata.localhost/consent-log"
    sock = tmp_path / "w.sock"
    args = [sys.executable, "-m", "consent_operator.log.log_writer_process", str(data), origin, str(sock)]

    def start():
        proc = subprocess.Popen(args)
        while not sock.exists():
            assert proc.poll() is None
            time.sleep(0.02)
        return proc

    proc = start()
    worker = SqliteLog(data / "log.sqlite", origin, keystore.log_signer(data, origin), LogWriterClient(sock))
    acknowledged: dict[bytes, int] = {}
    stop = threading.Event()

    def append_until_stopped(t):
        n = 0
        while not stop.is_set():
            data_ = b"t%d-%d" % (t, n)
            acknowledged[data_] = worker.append([data_])
            n += 1

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(append_until_stopped, t) for t in range(8)]
        for kill in range(1, 4):  # three kills, each with appends in flight
            while len(acknowledged) < 2000 * kill:
                assert not [f.result() for f in futures if f.done()]  # an append that raised fails here, at once
                time.sleep(0.01)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            sock.unlink(missing_ok=True)
            proc = start()
        stop.set()
        for f in futures:
            f.result()  # no append raised
    proc.kill()
    entries = worker.entries(0, worker.head)
    assert len(entries) == len(set(entries)) == len(acknowledged)
    assert all(worker.entry(i) == d for d, i in acknowledged.items())
    assert worker.check() == worker.head


_GOOD_FRAME = {"entries": ["YQ=="], "meta": {"m": "1"}, "keys": [["k"]], "claim": ["c", 1.5], "owner": "0123abcd", "publish": True}


def test_a_request_frame_carries_every_field_of_the_append():
    import json

    from storage.append_codec import decode_request

    req = decode_request(json.dumps(_GOOD_FRAME).encode())
    assert (req.entries, req.meta, req.keys, req.claim, req.owner, req.publish) == ([b"a"], {"m": "1"}, [["k"]], ("c", 1.5), "0123abcd", True)
    assert decode_request(json.dumps({**_GOOD_FRAME, "publish": False}).encode()).publish is False


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("meta", {"m": 1}, "meta must map strings to strings"),
        ("expects", {"m": None}, "expects must map strings to strings"),
        ("keys", [[1]], "keys must be lists of strings"),
        ("claim", ["c"], "claim must be"),
        ("claim", [1, 2], "claim must be"),
        ("owner", "", "owner must be the request's token"),
        ("owner", "x" * 65, "owner must be the request's token"),
        ("publish", "yes", "publish must be true or false"),
    ],
)
def test_a_malformed_request_frame_is_refused_by_name(field, value, reason):
    import json

    from storage.append_codec import decode_request

    with pytest.raises(ValueError, match=reason):
        decode_request(json.dumps({**_GOOD_FRAME, field: value}).encode())
