"""Ended consents leave the live consent index (the release path's) for a compact archive
once they ended long enough ago; the citizen's history and Art 15 report still name them;
a consent that holds again is never archived; erasure removes the archive too."""

from __future__ import annotations

import time

import pytest

from consent_operator.access.archiving import archive_ended
from ledger.lookup_keys import consent_key

pytestmark = pytest.mark.parametrize("node", ["embedded"], indirect=True)

DAY = 86400.0


def _hot_rows(rt, consent_id: str) -> int:
    """The consent's rows in the live tables (index, request, purposes)."""
    db = rt.backend.directory()._db
    rid = [r[0] for r in db.rows("SELECT request_id FROM consents WHERE consent_id=%s", (consent_id,))]
    requests_ = db.rows("SELECT COUNT(*) FROM consent_requests WHERE id=%s", (rid[0],))[0][0] if rid else 0
    return len(rid) + requests_


def _ended_and_noted(world) -> tuple[str, str]:
    """A consent still held and one revoked, whose ending the notifier noted."""
    kept = world.consent([{"area": "work", "access": "read"}])
    ended = world.consent([{"area": "work", "access": "read"}, {"area": "education", "access": "read"}])
    world.agent.revoke(ended)
    world.op.runtime.notifier.tick()
    return kept, ended


def test_a_consent_ended_long_ago_leaves_the_live_index_but_not_the_citizens_records(world):
    rt = world.op.runtime
    kept, ended = _ended_and_noted(world)
    assert archive_ended(rt, time.time(), 30 * DAY) == 0  # ended just now: kept live for 30 days
    assert _hot_rows(rt, ended) == 2
    assert world.read("education").json()["type"].endswith("/revoked")
    assert archive_ended(rt, time.time() + 31 * DAY, 30 * DAY) == 1
    assert _hot_rows(rt, ended) == 0 and _hot_rows(rt, kept) == 2
    assert [c.consent_id for c in rt.directory.consents_of(world.cid, "cv-builder")] == [kept]  # the release path's view
    assert world.read("education").json()["type"].endswith("/area-not-granted")  # only the archived one granted it
    archived = rt.directory.consent(ended)
    assert archived is not None and archived.allows("education", "read") and archived.citizen == world.cid
    assert {c.consent_id for c in rt.directory.consents_for_citizen(world.cid)} == {kept, ended}
    report = world.agent.access_report()
    by_id = {c["consent_id"]: c for c in report["consents"]}
    assert by_id[ended]["status"] == "revoked" and by_id[ended]["purposes"] == ["dpv:ServiceProvision"] and by_id[ended]["chain_tx"]
    assert by_id[kept]["status"] == "active"
    history = world.citizen_op.get(f"/v1/citizens/{world.cid}/history").json()
    assert set(rt.log.find(consent_key(ended))) <= {e["index"] for e in history["entries"]}
    assert archive_ended(rt, time.time() + 62 * DAY, 30 * DAY) == 0  # archived once


def test_a_consent_that_holds_again_is_not_archived(world):
    """A noted ending whose consent is active (a reorg withdrew its revocation) is dropped."""
    rt = world.op.runtime
    kept, ended = _ended_and_noted(world)
    with rt.backend.directory()._db.transaction() as tx:
        tx.execute("INSERT INTO consent_endings VALUES (%s, %s)", (kept, 0.0))
    assert archive_ended(rt, time.time() + 31 * DAY, 30 * DAY) == 1
    assert _hot_rows(rt, kept) == 2 and rt.directory.endings_before(float("inf")) == []
    assert world.read("work").status_code == 200


def test_delivered_notifications_are_dropped_with_the_archive(world):
    rt = world.op.runtime
    outbox = rt.backend.outbox()
    with rt.backend.directory()._db.transaction() as tx:
        tx.execute("INSERT INTO notifications VALUES (7, 'cv-builder', %s, 'https://cv.example/n', '{}', 1, 0, %s, NULL)", (world.cid, time.time()))
        tx.execute("INSERT INTO notifications VALUES (8, 'cv-builder', %s, 'https://cv.example/n', '{}', 1, 0, NULL, NULL)", (world.cid,))
    archive_ended(rt, time.time() + 1, 30 * DAY)
    assert outbox.state(7) is not None  # delivered within the period: kept
    archive_ended(rt, time.time() + 31 * DAY, 30 * DAY)
    assert outbox.state(7) is None and outbox.state(8) is not None  # an undelivered one stays due


def test_erasure_removes_archived_consents(world):
    rt = world.op.runtime
    kept, ended = _ended_and_noted(world)
    world.agent.revoke(kept)
    rt.notifier.tick()
    assert archive_ended(rt, time.time() + 31 * DAY, 30 * DAY) == 2
    world.citizen_op.delete(f"/v1/citizens/{world.cid}")  # raises on a refusal
    assert rt.directory.consent(ended) is None and rt.directory.consents_for_citizen(world.cid) == []
    assert rt.directory.requests_of(world.cid) == []
