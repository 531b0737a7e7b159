"""The storage conformance suite: every backend (SQLite, and PostgreSQL on a real server)
keeps the same promises for each store the services use."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from devchain.nodes import wait_until
from storage.backends import PostgresBackend, SqliteBackend

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path):
    if request.param == "sqlite":
        yield SqliteBackend(tmp_path / "db")
        return
    b = PostgresBackend(request.getfixturevalue("pg_url"))
    yield b
    b.db.close()


@pytest.fixture
def shared_backend(pg_url):
    """A backend whose state replicas share (PostgreSQL)."""
    b = PostgresBackend(pg_url)
    yield b
    b.db.close()


# ---- the replay store ----------------------------------------------------------------
def test_a_nonce_is_accepted_once_per_key(backend):
    store, later = backend.replay_store(), time.time() + 300
    assert store.use("service:a", "n" * 16, later)
    assert not store.use("service:a", "n" * 16, later)
    assert store.use("service:b", "n" * 16, later)  # another key's nonce space


def test_a_nonce_used_through_one_store_is_refused_by_another_of_the_same_backend(backend):
    """Two workers (or replicas) open their own store on one backend."""
    first, second = backend.replay_store(), backend.replay_store()
    assert first.use("service:a", "m" * 16, time.time() + 300)
    assert not second.use("service:a", "m" * 16, time.time() + 300)


def test_concurrent_uses_of_one_nonce_accept_exactly_one(backend):
    store = backend.replay_store()
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: store.use("service:a", "race" * 4, time.time() + 300), range(32)))
    assert results.count(True) == 1


def test_expired_nonces_are_dropped_every_thousand_uses_and_live_ones_never(backend):
    store, later = backend.replay_store(), time.time() + 300
    assert store.use("k", "expired-nonce", time.time() - 1)
    assert store.use("k", "live-nonce", later)
    for i in range(996):
        assert store.use("k", f"filler-{i}", later)
    assert not store.use("k", "expired-nonce", later)  # the 999th use: nothing dropped yet, still a replay
    assert store.use("k", "filler-1000", later)  # the 1000th use drops what has expired
    assert store.use("k", "expired-nonce", later)  # gone (its request is stale anyway: refused before this check)
    assert not store.use("k", "live-nonce", later)  # a live nonce is still a replay


def test_forget_erases_every_nonce_of_one_key_and_only_those(backend):
    store, later = backend.replay_store(), time.time() + 300
    for i in range(3):
        store.use("citizen:x", f"nonce-{i:012d}", later)
    store.use("citizen:y", "nonce-000000000000", later)
    assert store.forget("citizen:x") == 3
    assert store.use("citizen:x", "nonce-000000000000", later)  # nothing of x is left
    assert not store.use("citizen:y", "nonce-000000000000", later)


# ---- rate-limit counters --------------------------------------------------------------
def test_counters_count_per_key_within_a_window(backend):
    counters = backend.rate_counters()
    assert [counters.incr("k", 60) for _ in range(3)] == [1, 2, 3]
    assert counters.get("k") == 3 and counters.get("other") == 0
    assert counters.incr("k", 60, amount=5) == 8
    assert counters.get_expiry("k") > time.time()
    counters.clear("k")
    assert counters.get("k") == 0


def test_a_counter_starts_again_when_its_window_has_passed(backend):
    counters = backend.rate_counters()
    counters.incr("w", 1)
    counters.incr("w", 1)
    wait_until(lambda: counters.get("w") == 0, "the window to pass", 10)
    assert counters.incr("w", 1) == 1


def test_replicas_share_their_counters(shared_backend):
    first, second = shared_backend.rate_counters(), shared_backend.rate_counters()
    first.incr("shared", 60)
    assert second.incr("shared", 60) == 2
    assert first.get("shared") == 2


def test_concurrent_hits_are_all_counted(shared_backend):
    counters = shared_backend.rate_counters()
    threads = [threading.Thread(target=lambda: [counters.incr("busy", 60) for _ in range(25)]) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counters.get("busy") == 200


# ---- locks across processes and replicas ----------------------------------------------
@pytest.fixture
def two_backends(backend, request, tmp_path):
    """The backend and a second one on the same storage, as another process or replica has."""
    other = SqliteBackend(backend.folder) if backend.name == "sqlite" else PostgresBackend(backend.db.url)
    yield backend, other
    if other.name == "postgresql":
        other.db.close()


def _other_process_takes(backend, name: str) -> subprocess.Popen:
    """Another process that takes lock `name` on the same storage, prints, and exits."""
    where = repr(str(backend.folder)) if backend.name == "sqlite" else repr(backend.db.url)
    code = (
        "from pathlib import Path; from storage.backends import open_backend\n"
        f"b = open_backend(None, Path({where})) if {backend.name == 'sqlite'} else open_backend({where}, Path('.'))\n"
        f"with b.lock({name!r}): print('entered', flush=True)\n"
    )
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)


def test_a_lock_excludes_every_other_process_and_is_reentrant(backend):
    lock = backend.lock("follower")
    with lock, lock:  # re-entrant within one thread
        other = _other_process_takes(backend, "follower")
        with pytest.raises(subprocess.TimeoutExpired):
            other.wait(1.0)  # held here: the other process cannot enter
    assert other.communicate(timeout=30)[0] == "entered\n"


def test_only_one_process_holds_a_leadership_until_it_lets_go(two_backends):
    mine, theirs = two_backends
    lead = mine.try_hold("background")
    assert lead is not None and lead.alive()
    assert theirs.try_hold("background") is None
    lead.release()
    successor = theirs.try_hold("background")
    assert successor is not None
    successor.release()


def test_a_leader_whose_database_session_dies_is_replaced(shared_backend, pg_url):
    import psycopg

    lead = shared_backend.try_hold("background")
    other = PostgresBackend(pg_url)
    assert other.try_hold("background") is None
    with psycopg.connect(pg_url, autocommit=True) as admin:  # the server ends the leader's session (a crash, a network cut)
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND pid <> pg_backend_pid()")
    assert not lead.alive()
    successor = other.try_hold("background")
    assert successor is not None and successor.alive()
    successor.release()
    other.db.close()


def test_seeking_leadership_again_and_again_keeps_one_session_for_every_lock(shared_backend, pg_url):
    import psycopg

    from storage.postgres.locks import APPLICATION_NAME

    def sessions(admin) -> set[int]:
        rows = admin.execute("SELECT pid FROM pg_stat_activity WHERE application_name LIKE %s", (APPLICATION_NAME + "%",)).fetchall()
        return {pid for (pid,) in rows}

    lead = shared_backend.try_hold("background")
    other = PostgresBackend(pg_url)
    with psycopg.connect(pg_url, autocommit=True) as admin:
        assert other.try_hold("background") is None
        seeking = sessions(admin)
        assert len(seeking) == 2  # the leader's, and the one the other process seeks on
        assert [other.try_hold("background") for _ in range(3)] == [None, None, None]
        notifier = other.try_hold("notifier")
        assert notifier is not None and notifier.alive()
        assert other.try_hold("notifier") is None  # held on this session already: not given twice
        assert sessions(admin) == seeking  # the same sessions throughout
        notifier.release()
        assert not notifier.alive() and sessions(admin) == seeking
        successor = shared_backend.try_hold("notifier")
        assert successor is not None
        lead.release()
        assert successor.alive()  # letting go of one lock keeps the others the session holds
        taken = other.try_hold("background")
        assert taken is not None and sessions(admin) == seeking
    other.close()
    with psycopg.connect(pg_url, autocommit=True) as admin:
        assert len(sessions(admin)) == 1  # closing the backend ends its session, and its locks
    assert not taken.alive()
    successor.release()


def test_a_process_whose_kept_session_was_cut_seeks_on_a_new_one_at_once(shared_backend, pg_url):
    import psycopg

    from storage.postgres.locks import APPLICATION_NAME

    lead = shared_backend.try_hold("background")
    with psycopg.connect(pg_url, autocommit=True) as admin:  # a network cut nobody has noticed yet
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE %s", (APPLICATION_NAME + "%",))
    taken = shared_backend.try_hold("notifier")
    assert taken is not None and taken.alive()
    assert not lead.alive()  # the lock it held went with the old session
    taken.release()

# ---- the operator's directory ----------------------------------------------------------
def _service(name="CV Builder"):
    from storage.directory import Service

    return Service("cv-builder", name, "Builds CVs", "https://cv.example/cb", b"\x01" * 32, b"\x02" * 32)


def test_a_service_is_registered_and_re_registered_in_place(backend):
    directory = backend.directory()
    assert directory.service("cv-builder") is None
    directory.register(_service())
    directory.register(_service("CV Builder 2"))
    assert directory.service("cv-builder") == _service("CV Builder 2")


def test_a_consent_request_is_decided_once_and_indexes_its_consent(backend):
    from storage.directory import IndexedConsent

    directory = backend.directory()
    directory.register(_service())
    perms = [{"area": "work", "access": "read"}]
    rid = directory.add_request("cv-builder", "citizen:a", ["dpv:ServiceProvision"], perms, 30, "https://cv.example/n", "ab" * 32)
    other = directory.add_request("cv-builder", "citizen:a", ["dpv:ServiceProvision"], perms, 7, "https://cv.example/n", "ab" * 32)
    asked = directory.request(rid)
    assert (asked["status"], asked["permissions"], asked["purposes"], asked["duration_days"], asked["receipt"]) == ("pending", perms, ["dpv:ServiceProvision"], 30, None)
    assert [r["id"] for r in directory.requests_of("citizen:a", "pending")] == [rid, other]  # oldest first
    consent = IndexedConsent("0xc1", "cv-builder", "citizen:a", perms, 1_900_000_000)
    assert directory.decide(rid, "approved", consent, {"receipt": 1})
    assert not directory.decide(rid, "refused")  # decided already: nothing changes
    assert directory.request(rid)["status"] == "approved" and directory.request(rid)["receipt"] == {"receipt": 1}
    assert directory.consents_of("citizen:a", "cv-builder") == [consent] == directory.consents_for_citizen("citizen:a")
    assert directory.consent("0xc1") == consent and directory.consent("0xc2") is None
    assert [r["id"] for r in directory.requests_of("citizen:a")] == [rid, other]
    assert directory.consents_of("citizen:a", "job-board") == [] and directory.request("req_none") is None


def test_erasing_a_citizen_removes_every_row_that_names_them(backend):
    from storage.directory import IndexedConsent

    directory = backend.directory()
    directory.register(_service())
    for citizen in ("citizen:a", "citizen:b"):
        rid = directory.add_request("cv-builder", citizen, ["p"], [], 1, "https://n", "00" * 32)
        directory.decide(rid, "approved", IndexedConsent("0x" + citizen[-1], "cv-builder", citizen, [], 1), {"r": 1})
        directory.set_citizen_key(citizen, b"\x03" * 32)
    directory.set_citizen_key("citizen:a", b"\x04" * 32)  # published again: replaced
    assert directory.citizen_key("citizen:a") == b"\x04" * 32
    assert directory.erase_citizen("citizen:a") == 3
    assert directory.requests_of("citizen:a") == [] and directory.consents_for_citizen("citizen:a") == []
    assert directory.citizen_key("citizen:a") is None and directory.citizen_key("citizen:b") == b"\x03" * 32


def test_an_archived_consent_leaves_the_live_index_and_is_read_back_whole(backend):
    from storage.directory import IndexedConsent

    directory, outbox = backend.directory(), backend.outbox()
    directory.register(_service())
    rid = directory.add_request("cv-builder", "citizen:a", ["p", "q"], [{"area": "work", "access": "read"}], 30, "https://n", "00" * 32, agreement_version=2)
    consent = IndexedConsent("0xa", "cv-builder", "citizen:a", [{"area": "work", "access": "read"}], 99)
    directory.decide(rid, "approved", consent, {"receipt": 1}, ["p"])
    live = directory.add_request("cv-builder", "citizen:a", ["p"], [], 1, "https://n", "00" * 32)
    directory.decide(live, "approved", IndexedConsent("0xb", "cv-builder", "citizen:a", [], 1), None)
    before = directory.request(rid)
    outbox.queue([], 5, 10.0, [("0xa", 100.0), ("0xb", 300.0)])
    outbox.queue([], 6, 10.0, [("0xa", 200.0)])  # noted again: the first time counts
    assert directory.endings_before(250.0) == ["0xa"] and directory.endings_before(400.0) == ["0xa", "0xb"]
    directory.drop_ending("0xb")
    assert directory.archive("0xa") and not directory.archive("0xa")  # once
    assert directory.endings_before(float("inf")) == []
    assert directory.consents_of("citizen:a", "cv-builder") == [IndexedConsent("0xb", "cv-builder", "citizen:a", [], 1)]  # live ones only
    assert directory.consent("0xa") == consent and directory.narrowed_purposes("0xa") == ["p"]
    assert sorted(c.consent_id for c in directory.consents_for_citizen("citizen:a")) == ["0xa", "0xb"]
    archived = next(r for r in directory.requests_of("citizen:a") if r["id"] == rid)
    assert archived == {**before, "receipt": None} and [r["id"] for r in directory.requests_of("citizen:a", "approved")] == [rid, live]
    assert directory.request(rid) is None and directory.request_agreement(rid) is None  # gone from the live tables
    assert directory.erase_citizen("citizen:a") >= 3 and directory.consent("0xa") is None


def test_an_approval_keeps_narrowed_purposes_and_its_receipt_until_the_service_takes_it(backend):
    from storage.directory import IndexedConsent

    directory = backend.directory()
    directory.register(_service())
    rid = directory.add_request("cv-builder", "citizen:a", ["p", "q"], [], 1, "https://n", "00" * 32)
    directory.decide(rid, "approved", IndexedConsent("0xa", "cv-builder", "citizen:a", [], 1), {"receipt": 1}, ["p"])
    asked = directory.add_request("cv-builder", "citizen:a", ["p"], [], 1, "https://n", "00" * 32)
    directory.decide(asked, "approved", IndexedConsent("0xc", "cv-builder", "citizen:a", [], 1), {"receipt": 2})
    assert directory.narrowed_purposes("0xa") == ["p"] and directory.narrowed_purposes("0xc") is None
    assert directory.request(rid)["receipt"] == {"receipt": 1}
    assert directory.receipt_taken(rid) and not directory.receipt_taken(rid)  # once
    assert directory.request(rid)["receipt"] is None and directory.consent("0xa") is not None
    directory.erase_citizen("citizen:a")
    assert directory.narrowed_purposes("0xa") is None


def test_a_service_sets_and_clears_where_it_takes_notifications(backend):
    directory = backend.directory()
    directory.register(_service())
    assert directory.notify_url("cv-builder") is None
    directory.set_notify_url("cv-builder", "https://cv.example/a")
    directory.set_notify_url("cv-builder", "https://cv.example/b")
    assert directory.notify_url("cv-builder") == "https://cv.example/b"
    directory.set_notify_url("cv-builder", None)
    assert directory.notify_url("cv-builder") is None


def test_consents_expiring_in_a_window_come_soonest_first(backend):
    from storage.directory import IndexedConsent

    directory = backend.directory()
    directory.register(_service())
    for n, expiry in enumerate((300, 100, 200, 400)):
        rid = directory.add_request("cv-builder", "citizen:a", ["p"], [], 1, "https://n", "00" * 32)
        directory.decide(rid, "approved", IndexedConsent(f"0x{n}", "cv-builder", "citizen:a", [], expiry), {"r": 1})
    assert [c.expires_at for c in directory.consents_expiring(100, 300)] == [200, 300]  # (after, up_to]


def test_agreement_versions_count_up_per_service_and_the_same_terms_keep_the_latest(backend):
    directory = backend.directory()
    same = lambda a, b: {**a, "version": 0} == {**b, "version": 0}  # noqa: E731 - ledger.agreement.same_terms
    first, new = directory.publish_agreement("cv-builder", {"service": "cv-builder", "retention_days": 0}, same)
    assert new and first == {"service": "cv-builder", "retention_days": 0, "version": 1}
    assert directory.publish_agreement("cv-builder", {"service": "cv-builder", "retention_days": 0}, same) == (first, False)
    second, new = directory.publish_agreement("cv-builder", {"service": "cv-builder", "retention_days": 30}, same)
    assert new and second["version"] == 2
    assert directory.publish_agreement("job-board", {"service": "job-board"}, same)[0]["version"] == 1  # per service
    assert directory.agreements_of("cv-builder") == [first, second] and directory.agreement("cv-builder", 2) == second
    assert directory.agreement("cv-builder", 3) is None and directory.agreements_of("nobody") == []


def test_a_request_names_its_agreement_version_until_the_citizen_is_erased(backend):
    directory = backend.directory()
    directory.register(_service())
    named = directory.add_request("cv-builder", "citizen:a", ["p"], [], 1, "https://n", "00" * 32, agreement_version=2)
    plain = directory.add_request("cv-builder", "citizen:a", ["p"], [], 1, "https://n", "00" * 32)
    assert directory.request_agreement(named) == 2 and directory.request_agreement(plain) is None
    directory.erase_citizen("citizen:a")
    assert directory.request_agreement(named) is None


# ---- the notification outbox ---------------------------------------------------------
def _note(index: int, citizen: str = "citizen:a"):
    from storage.outbox import Notification

    return Notification(index, "cv-builder", citizen, "https://cv.example/n", {"id": index}, 0)


def test_notifications_are_queued_once_with_the_cursor_and_delivered_at_least_once(backend):
    outbox = backend.outbox()
    assert (outbox.cursor(), outbox.expiry_cursor(), outbox.pending()) == (0, 0, 0)
    outbox.queue([_note(3), _note(5)], 6, now=10.0)
    outbox.queue([_note(5)], 7, now=20.0)  # queued again (a crash before the cursor moved): one row still
    assert outbox.cursor() == 7 and outbox.pending() == 2
    assert [n.id for n in outbox.due(10.0)] == [3, 5] and outbox.due(9.0) == []
    assert outbox.due(10.0)[0].body == {"id": 3}
    outbox.failed(3, 50.0, "HTTP 503")
    assert [n.id for n in outbox.due(10.0)] == [5] and outbox.due(50.0)[0].attempts == 1
    assert outbox.state(3) == {"attempts": 1, "delivered_at": None, "last_error": "HTTP 503"}
    outbox.delivered(3, 60.0)
    outbox.delivered(5, 60.0)
    assert outbox.due(100.0) == [] and outbox.pending() == 0 and outbox.state(3)["last_error"] is None
    outbox.expired_up_to(1234)
    assert outbox.expiry_cursor() == 1234 and backend.outbox().cursor() == 7  # another worker's view


def test_erasing_a_citizen_removes_their_notifications(backend):
    directory, outbox = backend.directory(), backend.outbox()
    outbox.queue([_note(1, "citizen:a"), _note(2, "citizen:b")], 3, now=0.0)
    directory.erase_citizen("citizen:a")
    assert [n.id for n in outbox.due(1.0)] == [2]


# ---- the PDS's versions, keys and blobs ----------------------------------------------
def _pds(backend):
    from pds.store import PdsStore

    return PdsStore(backend.pds_tables(), backend.blobs())


def test_versions_are_append_only_and_read_back_whole(backend):
    from pds.store import StoreError

    store = _pds(backend)
    store.add_version("citizen:a", "work", 1, 1, {"ciphertext": "v1"}, "w", "citizen:a")
    store.add_version("citizen:a", "work", 2, 1, {"ciphertext": "v2"}, "w", "service:cv")
    with pytest.raises(StoreError, match="work is at version 2; the next write must be 3"):
        store.add_version("citizen:a", "work", 2, 1, {"ciphertext": "again"}, "w", "citizen:a")
    assert store.version("citizen:a", "work")["envelope"] == {"ciphertext": "v2"}
    assert store.version("citizen:a", "work", 1)["envelope"] == {"ciphertext": "v1"}
    assert [v["version"] for v in store.history("citizen:a", "work")] == [1, 2] and store.areas("citizen:a") == ["work"]
    with pytest.raises(StoreError, match="no version 3 of work stored"):
        store.version("citizen:a", "work", 3)


def test_two_writers_racing_for_one_version_get_one_winner(two_backends):
    from pds.store import StoreError

    stores = [_pds(b) for b in two_backends]
    stores[0].add_version("citizen:a", "work", 1, 1, {"c": 0}, "w", "citizen:a")
    outcomes = []

    def write(i):
        try:
            stores[i % 2].add_version("citizen:a", "work", 2, 1, {"c": i}, "w", "citizen:a")
            outcomes.append("ok")
        except StoreError as exc:
            outcomes.append(exc.slug)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok"] + ["version-conflict"] * 5
    assert [v["version"] for v in stores[1].history("citizen:a", "work")] == [1, 2]


def test_wrapped_keys_are_set_once_per_recipient_and_erasure_takes_everything(backend):
    from pds.store import StoreError

    store = _pds(backend)
    store.add_version("citizen:a", "work", 1, 1, {"c": 1}, "w", "citizen:a")
    store.put_keys("citizen:a", "work", 1, {"citizen:a": "k1", "service:cv": "k2"})
    store.put_keys("citizen:a", "work", 1, {"service:cv": "other"})  # set once: ignored
    assert store.wrapped_key("citizen:a", "work", 1, "service:cv") == "k2"
    store.add_version("citizen:b", "work", 1, 1, {"c": 2}, "w", "citizen:b")
    store.erase("citizen:a")
    assert store.areas("citizen:a") == [] and store.areas("citizen:b") == ["work"]
    with pytest.raises(StoreError):
        store.wrapped_key("citizen:a", "work", 1, "service:cv")
    with pytest.raises(FileNotFoundError):
        store.blobs.get("citizen:a", hashlib.sha256(b'{"c": 1}').hexdigest())
    assert store.version("citizen:b", "work")["envelope"] == {"c": 2}
