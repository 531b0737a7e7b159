"""One sequencer writes the PostgreSQL log for every replica (storage/postgres/sequencer.py):
what another replica submits is integrated by the lock's holder, a claim is decided at
submission on every replica, the lock passes on when its holder goes, and an append no
sequencer takes is withdrawn whole."""

import threading
import time

import psycopg
import pytest

from ledger.tlog import merkle, note
from storage.append_codec import decode_request, encode_request
from storage.log import AppendRequest, ClaimTaken, StaleRead
from storage.postgres import sequencer
from storage.postgres.locks import lock_key
from storage.postgres.log import PostgresLog
from storage.postgres.pool import PostgresDatabase
from storage.postgres.sequencer import NOTIFY_BYTES, SEQUENCER_LOCK, SequencerUnavailable, _firsts, _payloads, sequencer_pid

ORIGIN = "test.example/sequencer"


@pytest.fixture
def replicas(pg_url):
    """Open log stores on one database, each with its own pool, as replicas would."""
    signer, dbs = note.Signer(ORIGIN, b"\x07" * 32), []

    def open_log() -> PostgresLog:
        dbs.append(PostgresDatabase(pg_url))
        return PostgresLog(dbs[-1], ORIGIN, signer, publish_seconds=0)

    yield open_log
    for db in dbs:
        db.close()


def _rows(url, sql, args=()):
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql, args).fetchall()


def test_a_replica_without_the_lock_has_its_append_integrated_by_the_sequencer(replicas, pg_url):
    a = replicas()  # its first append (the log's signing key) makes it the sequencer
    b = replicas()
    assert b.append([b"from b"], keys=[["k:b"]]) == 0
    assert a.sequencer.leading and not b.sequencer.leading  # b's went through log_pending, not its own transaction
    assert a.append([b"from a"]) == 1
    assert b.find("k:b") == [0] and b.entries(0, 2) == [b"from b", b"from a"]
    assert _rows(pg_url, "SELECT count(*) FROM log_pending") == [(0,)]
    assert b.check() == 2 and b.root(b.size) == merkle.root_of([b"from b", b"from a"])
    probe = PostgresDatabase(pg_url)
    assert sequencer_pid(probe) is not None
    probe.close()


def test_a_claim_submitted_through_one_replica_is_refused_through_the_other(replicas):
    a, b = replicas(), replicas()
    claim = ("nonce:svc:1", time.time() + 60)
    b.append([b"first"], claim=claim)
    with pytest.raises(ClaimTaken):
        b.append([b"again, same replica"], claim=claim)
    with pytest.raises(ClaimTaken):
        a.append([b"again, the sequencer's replica"], claim=claim)
    assert a.head == 1


def test_a_submitted_append_whose_expectation_no_longer_holds_is_refused_and_its_claim_freed(replicas, pg_url):
    a, b = replicas(), replicas()
    a.append([], {"follower.state": "t1"})
    claim = ("nonce:svc:3", time.time() + 60)
    with pytest.raises(StaleRead):  # decided by the sequencer (a), announced to b as STALE
        b.append([b"decided at t0"], claim=claim, expects={"follower.state": "t0"})
    assert not b.sequencer.leading and a.head == 0
    assert _rows(pg_url, "SELECT count(*) FROM log_claims WHERE key = %s", (claim[0],)) == [(0,)]
    assert b.append([b"decided at t1"], claim=claim, expects={"follower.state": "t1"}) == 0


def test_a_stale_append_whose_notification_was_missed_is_answered_from_the_claims(replicas, pg_url):
    """The submitting replica heard nothing (its listening session was not yet, or no longer,
    there): its claim and pending row both gone say the sequencer refused it as stale."""
    replicas().sequencer.stop()
    with psycopg.connect(pg_url, autocommit=True) as squatter:  # no sequencer: the test plays it
        squatter.execute("SELECT pg_advisory_lock(%s)", (lock_key(SEQUENCER_LOCK),))
        b = replicas()
        outcome: list[BaseException | None] = []

        def append():
            try:
                b.append([b"decided at t0"], claim=("nonce:svc:4", time.time() + 60), expects={"follower.state": "t0"})
                outcome.append(None)
            except Exception as exc:  # noqa: BLE001 - the outcome is the assertion
                outcome.append(exc)

        waiter = threading.Thread(target=append)
        waiter.start()
        deadline = time.monotonic() + 5
        while _rows(pg_url, "SELECT count(*) FROM log_pending") != [(1,)]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        squatter.execute("DELETE FROM log_pending")  # what the sequencer's refusal does, unannounced
        squatter.execute("DELETE FROM log_claims WHERE key = 'nonce:svc:4'")
        waiter.join(timeout=b.sequencer.wait_seconds - 2)  # well before a withdrawal would answer
        assert not waiter.is_alive() and isinstance(outcome[0], StaleRead)


def test_the_next_replica_takes_over_when_the_sequencer_goes(replicas):
    a, b = replicas(), replicas()
    a.append([b"before"])
    a.sequencer.stop()  # its session ends, and the server releases the lock with it
    started = time.monotonic()
    assert b.append([b"after"]) == 1
    assert b.sequencer.leading and time.monotonic() - started < 5
    assert b.check() == 2


def test_an_append_no_sequencer_takes_is_withdrawn_and_leaves_nothing(replicas, pg_url):
    a = replicas()
    a.sequencer.stop()
    with psycopg.connect(pg_url, autocommit=True) as squatter:  # holds the lock, never sequences
        squatter.execute("SELECT pg_advisory_lock(%s)", (lock_key(SEQUENCER_LOCK),))
        b = replicas()
        b.sequencer.wait_seconds = 1.0
        claim = ("nonce:svc:7", time.time() + 60)
        with pytest.raises(SequencerUnavailable, match="withdrawn"):
            b.append([b"never"], claim=claim)
        assert _rows(pg_url, "SELECT count(*) FROM log_pending") == [(0,)]
        assert _rows(pg_url, "SELECT count(*) FROM log_claims WHERE key = %s", (claim[0],)) == [(0,)]
    assert b.append([b"retried"], claim=claim) == 0  # nothing of the first try stayed, not even its claim
    assert b.entries(0, 1) == [b"retried"]


def test_an_append_a_dead_writer_had_submitted_is_waited_for_not_written_twice(replicas, pg_url):
    """A replica's log writer died after submitting a worker's append: the worker finds the
    claim stored under its own owner, still pending, and waits for the sequencer."""
    a = replicas()
    a.sequencer.stop()
    with psycopg.connect(pg_url, autocommit=True) as squatter:  # no sequencer until it lets go
        squatter.execute("SELECT pg_advisory_lock(%s)", (lock_key(SEQUENCER_LOCK),))
        writer = replicas()
        submitted = AppendRequest([b"once"], {}, [["k:once"]], ("nonce:svc:9", time.time() + 60))
        writer.sequencer.submit([submitted])
        writer.sequencer.stop()  # died with the append pending
        assert _rows(pg_url, "SELECT count(*) FROM log_pending") == [(1,)]
        worker = replicas()
        mine = AppendRequest(submitted.entries, {}, submitted.keys, submitted.claim, submitted.owner)
        worker._recover([mine])
        assert mine.sequenced and mine.first == -1
    worker.wait_for(mine)  # the lock is free: the worker's own sequencer takes it and integrates
    assert (mine.error, mine.first) == (None, 0)
    assert worker.find("k:once") == [0] and worker.head == 1


def test_notifications_announce_every_first_index_within_the_payload_limit():
    drawn = [AppendRequest([], {}, [], (f"nonce:a key with spaces:{i:04}", 0.0), first=i * 3) for i in range(400)]
    payloads = _payloads(drawn)
    assert len(payloads) > 1 and all(len(p.encode()) <= NOTIFY_BYTES for p in payloads)
    assert _firsts(payloads) == {req.claim[0]: req.first for req in drawn}


def test_a_submitted_request_reads_back_whole():
    req = AppendRequest([b"\x00entry", b""], {"m": "v"}, [["k1", "k2"], []], ("c", 1.5), "owner1", True, {"m": "u"})
    back = decode_request(encode_request(req))
    assert (back.entries, back.meta, back.keys, back.claim, back.owner, back.publish, back.expects) == (
        req.entries, req.meta, req.keys, req.claim, req.owner, True, {"m": "u"}
    )


def test_the_start_up_check_leaves_no_sequencer_behind_to_cross_the_fork(pg_url, tmp_path):
    """`mydata operator` checks the log in gunicorn's arbiter before it forks the workers: on a
    new database that check records the log's key, an append, so it became the sequencer and
    its session crossed the fork into every worker."""
    from consent_operator.log.log_check import check_log

    assert check_log(tmp_path, database_url=pg_url) == 0
    db = PostgresDatabase(pg_url)
    try:
        assert _rows(pg_url, "SELECT count(*) FROM log_meta WHERE key = 'log.vkey'") == [(1,)]
        assert sequencer_pid(db) is None
    finally:
        db.close()


def test_a_new_sequencer_integrates_what_waited_for_the_last_one(replicas, pg_url):
    a = replicas()
    a.sequencer.stop()
    answered = {}
    with psycopg.connect(pg_url, autocommit=True) as squatter:  # holds the lock, never sequences, then dies
        squatter.execute("SELECT pg_advisory_lock(%s)", (lock_key(SEQUENCER_LOCK),))
        b = replicas()
        b.sequencer.retry_seconds = 600  # b will not take the lock itself
        waiting = threading.Thread(target=lambda: answered.update(first=b.append([b"waited"])))
        waiting.start()
        tried = (  # b's session has tried for the lock (and failed): it will not again
            "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'mydata log sequencer%%'"
            " AND query LIKE 'SELECT pg_try_advisory_lock%%' AND state = 'idle'"
        )
        deadline = time.monotonic() + 5
        while (_rows(pg_url, "SELECT count(*) FROM log_pending") != [(1,)] or _rows(pg_url, tried) != [(1,)]) and time.monotonic() < deadline:
            time.sleep(0.05)
    c = replicas()  # takes the free lock, and what b submitted with it
    own = c.append([b"c's own"])
    waiting.join(timeout=10)
    assert c.sequencer.leading and not b.sequencer.leading
    assert {own, answered["first"]} == {0, 1}
    assert c.entry(own) == b"c's own" and c.entry(answered["first"]) == b"waited"


def test_a_sequencer_woken_with_nothing_left_to_append_does_not_look_for_pending_rows(replicas, monkeypatch):
    """Only its clock (or another replica's announcement) sends it looking: a wake-up whose
    appends an integration under way took already costs no statement."""
    monkeypatch.setattr(sequencer, "POLL_SECONDS", 60.0)  # the clock stays out of it
    looks, one = [], sequencer._one

    def counted(conn, sql, args=()):
        if "log_pending" in sql:
            looks.append(sql)
        return one(conn, sql, args)

    monkeypatch.setattr(sequencer, "_one", counted)
    a = replicas()
    a.append([b"first"])  # takes the lock, looks once for what waited for the last sequencer
    assert a.sequencer.leading
    looks.clear()
    for n in range(5):
        a.sequencer._wake()  # as when a submission's wake-up arrives after its integration took it
        time.sleep(0.02)
        a.append([f"entry {n}".encode()])
    assert looks == []
