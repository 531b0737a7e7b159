"""The durable log store, on every backend (SQLite, and PostgreSQL on a real server):
proofs from stored nodes, restart, atomic batches, lookup keys, claims, tamper checks."""

import os
import re
import sqlite3
import time
from contextlib import contextmanager

import psycopg
import pytest

from ledger.lookup_keys import revocation_key
from ledger.tlog import merkle, note
from ledger.tlog.checkpoint import open_checkpoint
from storage.log import KEY_EPOCH_BITS, LASTING_EPOCH, PRUNE_CLAIMS_SECONDS, AppendRequest, ClaimTaken, LogCorrupt, LogError, StaleRead, TreeMoved, node_key
from storage.postgres.log import PostgresLog, _PostgresAppend
from storage.postgres.pool import PostgresDatabase
from storage.sqlite.log import SqliteLog

ORIGIN = "test.example/log"
_PG_TABLE = re.compile(r"\blog_(entries|nodes|checkpoints|claims|meta|entry_index)\b")


class SqliteLogs:
    """Log stores opened on one SQLite file (as the processes of one host would). Unless a
    test asks for an interval, each commit publishes its checkpoint (publish_seconds=0)."""

    def __init__(self, tmp_path):
        self.path = tmp_path / "log.sqlite"

    def open(self, signer, publish_seconds=0.0):
        return SqliteLog(self.path, ORIGIN, signer, publish_seconds=publish_seconds)

    def execute(self, sql, args=()):
        """Run SQL written for PostgreSQL (log_ tables, %s) behind the store's back."""
        with sqlite3.connect(self.path) as db:
            return db.execute(_PG_TABLE.sub(r"\1", sql).replace("%s", "?"), args).fetchall()


class PostgresLogs:
    """Log stores opened on one database, each with its own pool (as replicas would)."""

    def __init__(self, url):
        self.url, self.dbs = url, []

    def open(self, signer, publish_seconds=0.0):
        self.dbs.append(PostgresDatabase(self.url))
        return PostgresLog(self.dbs[-1], ORIGIN, signer, publish_seconds=publish_seconds)

    def execute(self, sql, args=()):
        with psycopg.connect(self.url, autocommit=True) as db:
            cur = db.execute(sql, args)
            return cur.fetchall() if cur.description else []

    def close(self):
        for db in self.dbs:
            db.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def logs(request, tmp_path):
    if request.param == "sqlite":
        yield SqliteLogs(tmp_path)
        return
    pg = PostgresLogs(request.getfixturevalue("pg_url"))
    yield pg
    pg.close()


@pytest.fixture
def signer():
    return note.Signer(ORIGIN, os.urandom(32))


@pytest.fixture
def store(logs, signer):
    return logs.open(signer)


def test_roots_and_proofs_agree_with_recomputation_at_every_size(store):
    leaves = [os.urandom(i % 7) for i in range(67)]
    store.append(leaves[:10])
    store.append(leaves[10:11])
    store.append(leaves[11:])
    for size in range(len(leaves) + 1):
        assert store.root(size) == merkle.root_of(leaves[:size])
    for index in range(0, 67, 5):
        for size in (index + 1, 33, 67):
            if index < size:
                path = store.inclusion_proof(index, size)
                merkle.verify_inclusion(index, size, merkle.leaf_hash(leaves[index]), path, merkle.root_of(leaves[:size]))
    for old in (1, 7, 32, 66):
        merkle.verify_consistency(old, 67, store.root(old), store.root(), store.consistency_proof(old, 67))


def test_every_append_leaves_a_signed_checkpoint(store, signer):
    store.append([b"a", b"b"])
    cp = open_checkpoint(store.latest_checkpoint(), signer.verifier, ORIGIN)
    assert (cp.size, cp.root) == (2, store.root())
    assert open_checkpoint(store.checkpoint_at(0), signer.verifier, ORIGIN).root == merkle.EMPTY_ROOT


class Clock:
    """The log's wall clock, moved on by the test (the interval is judged by it)."""

    def __init__(self):
        self.offset = 0.0

    def time(self):
        return time.time() + self.offset

    def sleep(self, seconds):
        time.sleep(seconds)


@pytest.fixture
def clock(monkeypatch):
    import storage.log

    fake = Clock()
    monkeypatch.setattr(storage.log, "time", fake)
    return fake


def test_with_an_interval_an_append_is_durable_and_indexed_before_it_is_published(logs, signer, clock):
    store = logs.open(signer, publish_seconds=60)
    assert store.append([b"a", b"b"], keys=[["k"], []]) == 0
    assert (store.head, store.size) == (2, 0)  # acknowledged, findable, not yet in a checkpoint
    assert store.find("k") == [0] and store.entries(0, 2) == [b"a", b"b"]
    with pytest.raises(LogError, match="beyond the log size 0"):
        store.root(2)
    assert store.append([b"c"]) == 2 and store.size == 0  # still inside the interval: no signature
    assert len(store.backend.signed_roots()) == 1  # only the new log's empty checkpoint
    clock.offset = 61
    store.append([b"d"])  # the first commit after the interval publishes everything durable
    cp = open_checkpoint(store.latest_checkpoint(), signer.verifier, ORIGIN)
    assert (cp.size, cp.root, store.size) == (4, merkle.root_of([b"a", b"b", b"c", b"d"]), 4)


def test_publish_signs_at_once_and_only_when_entries_wait(logs, signer, clock):
    store = logs.open(signer, publish_seconds=60)
    store.append([b"a", b"b", b"c"])
    assert store.publish() == 3 and store.size == 3
    assert open_checkpoint(store.checkpoint_at(3), signer.verifier, ORIGIN).root == merkle.root_of([b"a", b"b", b"c"])
    assert store.publish() == 3 and len(store.backend.signed_roots()) == 2  # nothing new: no new checkpoint
    store.append([b"d"])
    assert store.covering_size(2) == 3  # already published: nothing signed
    assert store.covering_size(9) == 3 and store.size == 3  # beyond the head: nothing signed either
    assert store.covering_size(3) == 4 and store.size == 4  # on demand for a durable, unpublished entry
    store.append([b"e"])
    path = store.inclusion_proof(4)  # a proof of an unpublished entry publishes first
    merkle.verify_inclusion(4, 5, merkle.leaf_hash(b"e"), path, store.signed_root(5))


def test_publish_if_due_waits_for_the_interval_and_for_entries(logs, signer, clock):
    store = logs.open(signer, publish_seconds=60)
    clock.offset = 61
    assert not store.publish_if_due()  # due, but nothing waits
    store.append([b"a"])  # publishes (the interval passed)
    store.append([b"b"])
    assert not store.publish_if_due() and store.size == 1  # an entry waits, the interval has not passed
    clock.offset = 122
    assert store.publish_if_due() and store.size == 2


def test_the_interval_holds_across_writers_of_one_log(logs, signer, clock):
    """The last checkpoint's time is read from the store, so a replica that just published
    keeps another from publishing again within the interval."""
    first, second = logs.open(signer, publish_seconds=60), logs.open(signer, publish_seconds=60)
    clock.offset = 61
    first.append([b"a"])
    second.append([b"b"])
    assert (second.size, second.head, len(second.backend.signed_roots())) == (1, 2, 2)


def test_the_check_covers_entries_not_yet_published(logs, signer):
    store = logs.open(signer, publish_seconds=60)
    store.append([b"x%d" % i for i in range(8)])
    assert store.size == 0 and store.check() == 8
    logs.execute("UPDATE log_nodes SET hash = %s WHERE id = %s", (b"\x00" * 32, node_key(1, 2)))
    with pytest.raises(LogCorrupt, match="level 1 index 2"):
        store.check()


def test_reopened_store_keeps_every_entry_node_and_checkpoint(logs, signer):
    first = logs.open(signer)
    first.append([b"x%d" % i for i in range(300)], keys=[["k"]] * 300)
    root, checkpoint = first.root(), first.latest_checkpoint()
    reopened = logs.open(signer)
    assert reopened.size == 300 and reopened.root() == root
    assert reopened.latest_checkpoint() == checkpoint
    reopened.append([b"more"])
    assert reopened.root() == merkle.root_of([b"x%d" % i for i in range(300)] + [b"more"])
    assert len(reopened.find("k")) == 300


def test_a_failed_batch_leaves_no_trace(logs, store, monkeypatch):
    store.append([b"kept"], meta={"cursor": "1"})

    @contextmanager
    def failing_after_the_checkpoint(real):
        with real as tx:
            add_checkpoint = tx.add_checkpoint

            def crash(*args):
                add_checkpoint(*args)
                raise OSError("disk gone")

            tx.add_checkpoint = crash
            yield tx

    def failing(open_transaction):  # the usual transaction, and a presumed one (PostgreSQL)
        return lambda *args: None if (real := open_transaction(*args)) is None else failing_after_the_checkpoint(real)

    for opener in ("append_transaction", "presumed_transaction"):
        monkeypatch.setattr(store.backend, opener, failing(getattr(store.backend, opener)))
    with pytest.raises(OSError, match="disk gone"):
        store.append([b"lost"], meta={"cursor": "2"})
    monkeypatch.undo()
    assert store.size == 1 and store.get_meta("cursor") == "1"
    reopened = logs.open(store.signer)
    assert reopened.size == 1 and reopened.root() == merkle.root_of([b"kept"])


def test_lookup_keys_find_their_entries(store):
    store.append([b"a", b"b", b"c"], keys=[["consent:1"], ["consent:2"], ["consent:1", "svc:x"]])
    assert store.find("consent:1") == [0, 2]
    assert store.find("svc:x") == [2]
    assert store.find("nothing") == []


def test_lookup_keys_are_found_and_forgotten_in_every_epoch(logs, store):
    far = [5, 1 << KEY_EPOCH_BITS, (3 << KEY_EPOCH_BITS) + 9]  # epochs 0, 1 and 3 (2 holds none)
    lasting = revocation_key("0xab")
    with store.backend.append_transaction() as tx:
        tx.add_keys([("k", far[2]), ("k", far[0]), ("k", far[1]), ("other", far[1]), (lasting, far[2]), (lasting, far[0])])
    assert store.find("k") == far and store.find(lasting) == [far[0], far[2]]
    rows = "SELECT epoch, idx FROM log_entry_index WHERE key = %s ORDER BY idx"
    assert logs.execute(rows, ("k",)) == [(i >> KEY_EPOCH_BITS, i) for i in far]
    assert logs.execute(rows, (lasting,)) == [(LASTING_EPOCH, far[0]), (LASTING_EPOCH, far[2])]  # one probe finds them
    assert store.forget("k") == 3 and store.forget(lasting) == 2
    assert store.find("k") == [] and store.find(lasting) == [] and store.find("other") == [far[1]]


def test_an_sqlite_log_from_before_epochs_keeps_its_lookup_keys(tmp_path, signer):
    path = tmp_path / "log.sqlite"
    with sqlite3.connect(path) as db:  # the lookup index as it was: ordered by key
        db.execute("CREATE TABLE entry_index (key TEXT NOT NULL, idx INTEGER NOT NULL, PRIMARY KEY (key, idx)) WITHOUT ROWID")
        db.executemany("INSERT INTO entry_index VALUES (?, ?)", [("k", 1 << KEY_EPOCH_BITS), ("k", 2), ("j", 3)])
    store = SqliteLog(path, ORIGIN, signer)
    assert store.find("k") == [2, 1 << KEY_EPOCH_BITS] and store.find("j") == [3]
    assert SqliteLog(path, ORIGIN, signer).find("k") == [2, 1 << KEY_EPOCH_BITS]  # moved once, to the lasting epoch
    store.append([b"new"], keys=[["k"]])
    assert store.find("k") == [0, 2, 1 << KEY_EPOCH_BITS]  # a new row in epoch 0, the old ones where they were


def test_out_of_range_requests_are_refused(store):
    store.append([b"a"])
    with pytest.raises(LogError):
        store.root(2)
    with pytest.raises(LogError):
        store.entry(5)
    with pytest.raises(merkle.ProofError):
        store.inclusion_proof(1, 1)


def test_concurrent_appends_are_group_committed_without_loss(logs, store):
    from concurrent.futures import ThreadPoolExecutor

    def writer(t):
        return [(store.append([b"t%d-%d" % (t, i)], keys=[[f"thread:{t}"]]), b"t%d-%d" % (t, i)) for i in range(40)]

    with ThreadPoolExecutor(8) as pool:
        results = [r for rs in pool.map(writer, range(8)) for r in rs]
    assert sorted(i for i, _ in results) == list(range(320))
    for index, data in results:
        assert store.entry(index) == data
    assert store.root() == merkle.root_of(store.entries(0, 320))
    assert all(len(store.find(f"thread:{t}")) == 40 for t in range(8))
    reopened = logs.open(store.signer)
    assert reopened.root() == store.root()


def test_two_writers_on_one_database_stay_consistent(logs, store):
    other = logs.open(store.signer)  # as a second operator process (or replica) would
    store.append([b"a"])
    other.append([b"b", b"c"])
    store.append([b"d"])
    assert store.size == other.size == 4
    assert store.entries(0, 4) == [b"a", b"b", b"c", b"d"]
    assert store.root() == other.root() == merkle.root_of([b"a", b"b", b"c", b"d"])


def test_a_claimed_append_is_refused_the_second_time_and_writes_nothing(store):
    later = time.time() + 300
    assert store.append([b"first"], keys=[["k"]], claim=("nonce:a 1", later)) == 0
    with pytest.raises(ClaimTaken):
        store.append([b"replay"], {"m": "x"}, keys=[["k"]], claim=("nonce:a 1", later))
    assert store.size == 1 and store.find("k") == [0] and store.get_meta("m") is None
    assert store.append([b"other"], claim=("nonce:a 2", later)) == 1


def test_in_a_group_only_the_request_whose_claim_was_taken_is_refused(store):
    later = time.time() + 300
    batch = [AppendRequest([b"a"], {}, [], ("c1", later)), AppendRequest([b"b"], {}, [], ("c1", later)), AppendRequest([b"c"], {}, [], ("c2", later))]
    store.commit(batch)
    assert isinstance(batch[1].error, ClaimTaken) and batch[0].error is None and batch[2].error is None
    assert [store.entry(r.first) for r in (batch[0], batch[2])] == [b"a", b"c"] and store.size == 2
    assert _claimed_firsts(store, "c1", "c2") == [0, 1]  # c2's is not where it would be behind an accepted b


def _claimed_firsts(store, *keys):
    """The first index each claim of `keys` holds (what a writer that lost its answer reads)."""
    with store.backend.append_transaction() as tx:
        return [tx.claim_of(key)[0] for key in keys]


def test_an_append_whose_expected_meta_changed_writes_nothing_and_leaves_its_claim_free(logs, store):
    later = time.time() + 300
    store.append([], {"m": "1"})
    with pytest.raises(StaleRead, match="m changed"):
        store.append([b"late"], {"n": "x"}, keys=[["k"]], claim=("nonce:s 1", later), expects={"m": "0"})
    assert store.head == 0 and store.find("k") == [] and store.get_meta("n") is None
    assert logs.execute("SELECT COUNT(*) FROM log_claims WHERE key = 'nonce:s 1'") == [(0,)]
    assert store.append([b"decided again"], keys=[["k"]], claim=("nonce:s 1", later), expects={"m": "1"}) == 0
    assert store.append([b"unset is empty"], expects={"never set": ""}) == 1
    with pytest.raises(StaleRead):
        store.append([b"no"], expects={"never set": "v"})
    assert store.head == 2


def test_in_a_group_an_expectation_is_checked_after_the_meta_writes_before_it(store):
    later = time.time() + 300
    batch = [
        AppendRequest([b"a"], {}, [], ("c1", later), expects={"m": ""}),
        AppendRequest([], {"m": "2"}, [], ("c2", later)),
        AppendRequest([b"b"], {}, [["k"]], ("c3", later), expects={"m": ""}),
        AppendRequest([b"c"], {}, [], ("c4", later), expects={"m": "2"}),
    ]
    store.commit(batch)
    assert [type(r.error).__name__ for r in batch] == ["NoneType", "NoneType", "StaleRead", "NoneType"]
    assert [store.entry(r.first) for r in (batch[0], batch[3])] == [b"a", b"c"] and store.head == 2 and store.find("k") == []
    assert _claimed_firsts(store, "c1", "c2", "c4") == [0, 1, 1]


def test_expired_claims_are_dropped_so_the_table_stays_small(logs, store, clock):
    store.append([b"old"], claim=("c", clock.time() - 1))
    store.append([b"soon"])  # within PRUNE_CLAIMS_SECONDS of the last drop: kept a while
    assert logs.execute("SELECT COUNT(*) FROM log_claims WHERE key = 'c'") == [(1,)]
    clock.offset += PRUNE_CLAIMS_SECONDS
    store.append([b"next"])  # the first commit after that drops expired claims
    assert logs.execute("SELECT COUNT(*) FROM log_claims WHERE key = 'c'") == [(0,)]


def _flip(logs, level: int, index: int) -> None:
    key = node_key(level, index)
    [(h,)] = logs.execute("SELECT hash FROM log_nodes WHERE id=%s", (key,))
    logs.execute("UPDATE log_nodes SET hash=%s WHERE id=%s", (bytes([h[0] ^ 1]) + bytes(h[1:]), key))


@pytest.mark.parametrize(("level", "index"), [(1, 0), (2, 1), (3, 1)])
def test_a_flipped_interior_node_is_never_served_in_a_proof(logs, store, level, index):
    store.append([b"e%d" % i for i in range(20)])
    store.append([b"f"])
    assert store.check() == 21
    _flip(logs, level, index)
    with pytest.raises(LogCorrupt, match=f"level {level} index {index}"):
        store.check()
    leaf = index << level  # the first leaf under the flipped node: its sibling subtree's proofs use it
    victim = leaf ^ (1 << level)
    with pytest.raises(LogCorrupt, match="inclusion proof"):
        store.inclusion_proof(victim, 21)
    with pytest.raises(LogCorrupt, match="inclusion proof"):
        store.inclusion_proof(victim, 20)  # a size with no checkpoint: proved through the next one


def test_a_flipped_node_under_an_old_size_breaks_its_consistency_proof(logs, store):
    store.append([b"e%d" % i for i in range(6)])
    store.append([b"e%d" % i for i in range(6, 16)])
    store.consistency_proof(6, 16)
    _flip(logs, 1, 2)  # [4, 6): a subtree of the old tree's right edge
    with pytest.raises(LogCorrupt, match="consistency proof|inconsistent"):
        store.consistency_proof(6, 16)


def test_a_checkpoint_that_does_not_match_the_entries_fails_the_check(logs, store):
    store.append([b"a", b"b"])
    store.append([b"c"])
    logs.execute("UPDATE log_checkpoints SET root=%s WHERE size=2", (b"\x00" * 32,))
    with pytest.raises(LogCorrupt, match="checkpoint 2"):
        store.check()


def test_a_missing_entry_fails_the_check(logs, store):
    store.append([b"a", b"b", b"c"])
    logs.execute("DELETE FROM log_entries WHERE idx=2")
    with pytest.raises(LogCorrupt):
        store.check()


def test_replicas_appending_at_once_build_one_tree(logs, signer):
    """Four writers (processes of one host, or replicas over one database), eight threads each."""
    from concurrent.futures import ThreadPoolExecutor

    stores = [logs.open(signer) for _ in range(4)]

    def writer(t):
        return [stores[t % 4].append([b"r%d-%d" % (t, i)]) for i in range(25)]

    with ThreadPoolExecutor(8) as pool:
        indices = [i for part in pool.map(writer, range(8)) for i in part]
    assert sorted(indices) == list(range(200))
    size = stores[0].size
    assert size == 200 and stores[0].check() == 200
    assert all(s.root() == stores[0].root() for s in stores)


def _believed_head(conn):
    """A head query's answer for a writer that believes the tree has one entry."""
    return conn.execute("SELECT 1::bigint, NULL::bytea, NULL::bigint, NULL::float8")


@pytest.mark.parametrize("edge_size_matches", [True, False])
def test_a_writer_that_did_not_append_last_takes_the_edge_stored_with_the_head(pg_url, signer, edge_size_matches):
    """Sequencer B, taking over from A, builds on the edge A stored with the head, while it
    belongs to that head; one left behind by a head moved without it (older code) is not used."""
    db = PostgresDatabase(pg_url)
    a, b = (PostgresLog(db, ORIGIN, signer, publish_seconds=0) for _ in range(2))
    a.append([b"a", b"b", b"c"])
    a.sequencer.stop()  # A leaves the lock: B's sequencer takes it with its first append
    with psycopg.connect(pg_url, autocommit=True) as conn:  # a wrong edge, as a test of which is used
        conn.execute("UPDATE log_head SET edge = %s, edge_size = size + %s", (b"\x01" * 64, 0 if edge_size_matches else 1))
    b.append([b"d"])
    if edge_size_matches:
        with pytest.raises(LogCorrupt):
            b.check()
    else:
        assert b.check() == 4
    db.close()


def test_a_writer_whose_tree_head_moved_writes_nothing(pg_url, signer):
    """The compare-and-swap that keeps two writers who both think they lead from forking the log."""
    db = PostgresDatabase(pg_url)
    log = PostgresLog(db, ORIGIN, signer, publish_seconds=0)
    log.append([b"a", b"b"])
    with pytest.raises(TreeMoved):
        with db.transaction() as conn:
            stale = _PostgresAppend(conn, _believed_head(conn))  # it believes the tree still has one entry
            stale.add_checkpoint(2, b"\x00" * 32, "a forged head", time.time())
            stale.advance(1, 2, [b"\x00" * 32])
    with pytest.raises(psycopg.errors.UniqueViolation):  # and an index taken is refused outright
        with db.transaction() as conn:
            forked = _PostgresAppend(conn, _believed_head(conn))
            forked.add_entries([(1, b"forked")])
            forked.flush()
    assert log.size == 2 and log.entries(0, 2) == [b"a", b"b"] and log.check() == 2
    db.close()


def test_a_writer_with_another_signing_key_is_refused(logs, store):
    from storage.log import WrongLogKey

    store.append([b"a"])
    with pytest.raises(WrongLogKey, match="use the operator's provisioned keys"):
        logs.open(note.Signer(ORIGIN, os.urandom(32)))
    assert logs.open(store.signer).size == 1  # the right key still opens it


def test_cosignatures_are_kept_with_their_checkpoint_which_still_opens_with_the_log_key(store, signer):
    from ledger.tlog.cosignature import Cosigner, WitnessPolicy

    store.append([b"a", b"b"])
    witness = Cosigner("witness.example/w1", b"\x09" * 32)
    text = store.checkpoint_at(2).split("\n\n")[0] + "\n"
    store.add_cosignatures(2, [witness.cosign(text, 1_700_000_000)])
    cosigned = store.checkpoint_at(2)
    assert open_checkpoint(cosigned, signer.verifier).size == 2
    assert WitnessPolicy(1, (witness.key,)).check(cosigned) == ["witness.example/w1"]
    for bad in (["not a signature line\n"], [witness.cosign(text, 1).rstrip("\n")], ["\u2014 a b\n\u2014 c d\n"]):
        with pytest.raises(LogError, match="one note signature line"):
            store.add_cosignatures(2, bad)
    with pytest.raises(LogError, match="no checkpoint of size 7"):
        store.add_cosignatures(7, [witness.cosign(text, 1)])
    assert store.checkpoint_at(2) == cosigned
