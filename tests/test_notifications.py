"""Services are told when a consent ends: the operator's notifier queues a signed
"consent ended" notification per revocation or expiry in a durable outbox and delivers it at
least once; the CV service drops the copy it kept and says so; a service that was down gets
it once it is back; a forged, replayed or misdirected notification is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests

from consent_operator.access import release
from ledger.request_auth import RequestSigner

from .test_cv_service import _token
from .worlds import JSON, WORK, CvSite, World

pytestmark = pytest.mark.parametrize("node", ["embedded"], indirect=True)


def _consent_and_copy(world: World, cv: CvSite, agent) -> tuple[requests.Session, str]:
    """The citizen signs in to the CV service, grants read on work and views the CV: the
    service keeps a copy. Returns the browser and the consent id."""
    browser = cv.signed_in_browser(agent)
    rid = browser.post(cv.url + "/connect", headers={"X-CSRFToken": _token(browser, cv.url)}, allow_redirects=False).headers["Location"].rsplit("/", 1)[-1]
    consent_id = agent.approve(next(r for r in agent.pending() if r["id"] == rid), [{"area": "work", "access": "read"}])["grant"]["consent_id"]
    assert browser.get(cv.url + "/cv", headers=JSON).json()["sections"]["work"] == WORK
    assert cv.store.copies(world.cid) == {"work": WORK}
    return browser, consent_id


def test_a_revocation_reaches_the_service_which_drops_its_copy(site):
    world, cv, agent = site
    browser, consent_id = _consent_and_copy(world, cv, agent)
    notifier = world.op.runtime.notifier
    agent.revoke(consent_id)
    assert notifier.tick() == 1
    assert cv.store.copies(world.cid) == {}
    told = cv.store.ending_of(consent_id)
    assert told is not None and told["reason"] == "revoked" and told["dropped"] == 1
    page = browser.get(cv.url + "/cv")
    assert "Consent ended" in page.text and "it deleted the copy it kept of your CV (1 section)" in page.text
    assert notifier.tick() == 0  # delivered once; nothing due
    metrics = requests.get(world.op.url + "/metrics", timeout=10).text
    assert "mydata_notifications_delivered_total 1.0" in metrics and "mydata_notifications_queued_total 1.0" in metrics


def test_a_service_that_was_down_gets_the_notification_when_it_is_back(site):
    world, cv, agent = site
    _, consent_id = _consent_and_copy(world, cv, agent)
    notifier = world.op.runtime.notifier
    cv.close()
    agent.revoke(consent_id)
    assert notifier.tick() == 0
    (row,) = [n for n in notifier.outbox.due(float("inf"))]
    state = notifier.outbox.state(row.id)
    assert state["attempts"] == 1 and state["delivered_at"] is None and state["last_error"] == "ConnectionError"
    assert notifier.outbox.due(0) == []  # backing off: not due again at once
    assert cv.store.copies(world.cid) == {"work": WORK}  # the service has not heard yet
    notifier.first_retry = 0.0  # no waiting for the backoff in a test
    notifier.outbox.failed(row.id, 0.0, "ConnectionError")  # due now, a second failed attempt on record
    assert notifier.tick() == 0  # still down
    cv.open()
    notifier.outbox.failed(row.id, 0.0, "ConnectionError")
    assert notifier.tick() == 1
    assert cv.store.copies(world.cid) == {} and cv.store.ending_of(consent_id)["reason"] == "revoked"
    assert notifier.outbox.state(row.id)["attempts"] == 4 and notifier.outbox.pending() == 0
    assert 'mydata_notification_failures_total{cause="ConnectionError"} 2.0' in requests.get(world.op.url + "/metrics", timeout=10).text


def test_an_expiry_is_logged_and_told_without_anyone_asking_for_data(site, monkeypatch):
    world, cv, agent = site
    _, consent_id = _consent_and_copy(world, cv, agent)
    expires_at = world.op.runtime.directory.consent(consent_id).expires_at
    monkeypatch.setattr(release, "wall_clock", lambda: expires_at + 1)
    assert world.op.runtime.notifier.tick() == 1
    assert cv.store.ending_of(consent_id)["reason"] == "expired" and cv.store.copies(world.cid) == {}
    assert world.op.runtime.notifier.tick() == 0  # logged and told once


def test_the_service_acts_once_on_a_notification_delivered_twice(site):
    world, cv, agent = site
    _, consent_id = _consent_and_copy(world, cv, agent)
    notifier = world.op.runtime.notifier
    agent.revoke(consent_id)
    assert notifier.tick() == 1
    cv.store.keep_copy(world.cid, "work", WORK)  # read again meanwhile (say, under another consent)
    notifier.outbox._db.execute("UPDATE notifications SET delivered_at=NULL")  # as if the 204 never arrived
    assert notifier.tick() == 1  # delivered again, with the same id
    assert cv.store.copies(world.cid) == {"work": WORK}  # the repeat changed nothing


def _notification(world: World, **change) -> dict:
    body = {"type": "consent.ended", "id": 7, "reason": "revoked", "consent_id": "0x" + "ab" * 32, "service": "cv-builder",
            "citizen": world.cid, "time": "2026-11-30T10:00:00Z", "log_index": 7}
    return {**body, **change}


def _post(url: str, body: dict, auth) -> requests.Response:
    return requests.post(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, auth=auth, timeout=10)


def test_forged_replayed_and_misdirected_notifications_are_refused(site):
    world, cv, agent = site
    cv.store.keep_copy(world.cid, "work", WORK)
    url = cv.url + "/notifications"
    operator_seed = world.op.runtime.notifier.session.auth  # the operator's own signer
    forger = RequestSigner("operator", b"\x09" * 32)  # the operator's key id, another key
    cases = [
        (_post(url, _notification(world), None), 401, "unsigned-request"),
        (_post(url, _notification(world), forger), 401, "bad-signature"),
        (_post(url, _notification(world), RequestSigner("service:cv-builder", world.service_seed)), 401, "unknown-key"),
        (_post(url, _notification(world, service="job-board"), operator_seed), 400, "invalid-notification"),
        (_post(url, _notification(world, reason="paused"), operator_seed), 400, "invalid-notification"),
        (_post(url, _notification(world, id="7"), operator_seed), 400, "invalid-notification"),
    ]
    for resp, status, slug in cases:
        assert resp.status_code == status and resp.json()["type"].endswith("/" + slug), (resp.status_code, resp.text)
    assert cv.store.copies(world.cid) == {"work": WORK}  # none of them dropped anything

    session = requests.Session()
    stale = session.prepare_request(requests.Request("POST", url, data=json.dumps(_notification(world)).encode(), headers={"Content-Type": "application/json"}))
    operator_seed.sign(stale, created=datetime.now(UTC) - timedelta(minutes=10))  # signed outside the window
    assert session.send(stale).json()["type"].endswith("/stale-request")
    prepared = session.prepare_request(requests.Request("POST", url, data=json.dumps(_notification(world)).encode(), headers={"Content-Type": "application/json"}))
    operator_seed.sign(prepared)
    assert session.send(prepared).status_code == 204
    replay = session.send(prepared)  # the very same signed request again
    assert replay.status_code == 401 and replay.json()["type"].endswith("/replayed-request")
    assert cv.store.copies(world.cid) == {}


def test_consents_of_services_without_an_endpoint_queue_nothing(world):
    consent_id = world.consent([{"area": "work", "access": "read"}])  # cv-builder registered without notify_url
    world.agent.revoke(consent_id)
    notifier = world.op.runtime.notifier
    assert notifier.tick() == 0 and notifier.outbox.pending() == 0
    assert notifier.outbox.cursor() == world.op.runtime.log.head  # read past, nothing left behind
