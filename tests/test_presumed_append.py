"""The PostgreSQL sequencer's presumed append (storage/postgres/log.py, _PresumedAppend): a
batch of its own process's requests goes as one statement starting from what it last
committed, and writes nothing when the log is not as presumed (a claim taken, a meta
value changed, the head moved), in which case the batch is written the usual way."""

import threading
import time

import psycopg
import pytest

from ledger.tlog import merkle, note
from storage.log import AppendRequest, ClaimTaken, KnownState, PresumptionFailed, StaleRead
from storage.postgres.log import PostgresLog, _PresumedAppend
from storage.postgres.pool import PostgresDatabase

ORIGIN = "test.example/presumed"


@pytest.fixture
def db(pg_url):
    db = PostgresDatabase(pg_url)
    yield db
    db.close()


@pytest.fixture
def log(db):
    """A log whose process sequences it, and has committed once (so it knows the head)."""
    log = PostgresLog(db, ORIGIN, note.Signer(ORIGIN, b"\x05" * 32), publish_seconds=0)
    log.append([b"first"], {"follower.state": "t1"}, expects={"follower.state": ""})
    return log


@pytest.fixture
def statements(monkeypatch):
    """The statements this thread sends from now on."""
    sent: list[str] = []
    execute, me = psycopg.Connection.execute, threading.get_ident()

    def counted(conn, query, *args, **kwargs):
        if threading.get_ident() == me:
            sent.append(str(query))
        return execute(conn, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Connection, "execute", counted)
    return sent


def _request(data: bytes, nonce: str, expects: dict[str, str] | None = None) -> AppendRequest:
    return AppendRequest([data], {}, [["k:" + nonce]], (nonce, time.time() + 60), expects=dict(expects or {}))


def _sql(url, query, args=()):
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(query, args)
        return cur.fetchall() if cur.description else []


def test_a_sequencer_that_knows_the_head_appends_a_batch_in_one_statement(log, pg_url, statements):
    batch = [_request(b"a", "nonce:a", {"follower.state": "t1"}), _request(b"b", "nonce:b")]
    assert log.integrate(batch, None) == []
    assert len(statements) == 1  # no head, claims or meta values read first
    assert [req.first for req in batch] == [1, 2] and all(req.error is None for req in batch)
    assert log.entries(0, 3) == [b"first", b"a", b"b"] and log.find("k:nonce:b") == [2]
    assert _sql(pg_url, "SELECT key, first FROM log_claims WHERE key LIKE 'nonce:%%' ORDER BY key") == [("nonce:a", 1), ("nonce:b", 2)]
    assert log.check() == 3 and log.root(3) == merkle.root_of([b"first", b"a", b"b"])
    later = _request(b"c", "nonce:c")
    log.integrate([later], None)  # it goes on from where the last one left the log
    assert later.first == 3 and log.check() == 4


def test_a_replayed_claim_is_refused_and_the_rest_of_its_batch_written(log, pg_url):
    log.integrate([_request(b"once", "nonce:r")], None)
    replay, other = _request(b"twice", "nonce:r"), _request(b"other", "nonce:o")
    log.integrate([replay, other], None)
    assert isinstance(replay.error, ClaimTaken) and other.first == 2
    assert log.entries(0, 3) == [b"first", b"once", b"other"] and log.head == 3
    assert _sql(pg_url, "SELECT count(*) FROM log_claims WHERE key = 'nonce:r'") == [(1,)]


def test_a_meta_value_changed_behind_the_sequencer_makes_its_request_stale(log, pg_url):
    _sql(pg_url, "UPDATE log_meta SET value = 't2' WHERE key = 'follower.state'")  # not as this process left it
    decided_at_t1 = _request(b"decided at t1", "nonce:s", {"follower.state": "t1"})
    log.integrate([decided_at_t1], None)
    assert isinstance(decided_at_t1.error, StaleRead) and log.head == 1
    assert _sql(pg_url, "SELECT count(*) FROM log_claims WHERE key = 'nonce:s'") == [(0,)]
    decided_at_t2 = _request(b"decided at t2", "nonce:s", {"follower.state": "t2"})
    log.integrate([decided_at_t2], None)  # (the value it read is known again)
    assert decided_at_t2.first == 1


def test_a_request_decided_on_a_value_the_sequencer_knows_is_gone_is_stale_and_its_claim_freed(log, pg_url):
    decided_at_t0 = _request(b"decided at t0", "nonce:t0", {"follower.state": "t0"})  # the log holds t1
    kept = _request(b"kept", "nonce:k", {"follower.state": "t1"})
    log.integrate([decided_at_t0, kept], None)
    assert isinstance(decided_at_t0.error, StaleRead) and kept.first == 1
    assert _sql(pg_url, "SELECT key, first FROM log_claims WHERE key LIKE 'nonce:%%'") == [("nonce:k", 1)]


def test_a_meta_value_the_sequencer_never_read_is_read_the_usual_way(log, pg_url):
    _sql(pg_url, "INSERT INTO log_meta (key, value) VALUES ('anchor.state', 'a1')")
    decided = _request(b"decided on the anchor", "nonce:n", {"anchor.state": "a1"})
    log.integrate([decided], None)
    assert decided.first == 1 and decided.error is None


def test_a_presumed_append_corrects_no_claim_it_stores_in_the_same_statement(db):
    with db.connection() as conn:
        with pytest.raises(PresumptionFailed):
            _PresumedAppend(conn, KnownState(1, None, {})).set_firsts([("nonce:a", 1)])
        _PresumedAppend(conn, KnownState(1, None, {})).set_firsts([])  # nothing to correct: nothing to refuse


def test_a_head_another_writer_moved_is_read_and_appended_after(log, db):
    other = PostgresLog(db, ORIGIN, log.signer, publish_seconds=0)
    other.commit([_request(b"another writer's", "nonce:x")])  # its own transaction: the head moves
    mine = _request(b"mine", "nonce:m")
    log.integrate([mine], None)
    assert mine.first == 2 and log.entries(0, 3) == [b"first", b"another writer's", b"mine"]
    assert log.check() == 3 and log.root(3) == merkle.root_of([b"first", b"another writer's", b"mine"])
