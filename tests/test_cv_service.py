"""The sample CV service signs citizens in with MyData and shows nothing to anyone else:
anonymous, cross-site and wrongly signed attempts are each refused, and none reaches the
operator (no read is made, nothing is logged under the citizen)."""

from __future__ import annotations

import json

import pytest
import requests

from ledger import signin
from ledger.keys import CitizenKeys
from web.citizen_agent import SignInRefused

from .worlds import JSON, WORK

pytestmark = pytest.mark.parametrize("node", ["embedded"], indirect=True)


def _token(browser, url) -> str:
    return browser.get(url + "/", headers=JSON).json()["csrf_token"]


def test_a_citizen_signs_in_from_their_app_asks_nothing_typed_and_sees_their_cv(site):
    world, cv, agent = site
    browser = cv.browser()
    page = browser.get(cv.url + "/signin")
    assert "Sign in with MyData" in page.text and 'http-equiv="refresh"' in page.text
    assert browser.get(cv.url + "/signin", headers=JSON).json()["status"] == "waiting"  # not answered yet
    challenge = cv.challenge(browser)
    assert agent.sign_in("cv-builder", challenge)["name"] == "CV Builder"
    assert browser.get(cv.url + "/signin?next=/cv", allow_redirects=False).headers["Location"] == "/cv"
    assert browser.get(cv.url + "/", headers=JSON).json()["citizen"] == world.cid

    resp = browser.post(cv.url + "/connect", headers={"X-CSRFToken": _token(browser, cv.url)}, allow_redirects=False)
    assert resp.status_code == 303
    rid = resp.headers["Location"].rsplit("/", 1)[-1]
    agent.approve(next(r for r in agent.pending() if r["id"] == rid), [{"area": "work", "access": "read"}])
    status = browser.get(f"{cv.url}/requests/{rid}", headers=JSON).json()
    assert (status["status"], status["receipt_status"]) == ("approved", "active")
    assert browser.get(cv.url + "/cv", headers=JSON).json()["sections"]["work"] == WORK


def test_anonymous_callers_see_nothing_and_cause_no_read(site):
    world, cv, _ = site
    world.consent([{"area": "work", "access": "read"}])
    size = world.op.runtime.log.head
    anonymous = cv.browser()
    assert anonymous.get(cv.url + "/cv", allow_redirects=False).headers["Location"].startswith("/signin")
    resp = anonymous.get(cv.url + "/cv", headers=JSON)
    assert resp.status_code == 401 and resp.json()["type"].endswith("/sign-in-required")
    token = _token(anonymous, cv.url)
    for path in ("/connect", "/cv/certificates"):
        resp = anonymous.post(cv.url + path, headers={**JSON, "X-CSRFToken": token})
        assert resp.status_code == 401, path
    assert anonymous.get(cv.url + f"/cv/{world.cid}").status_code == 404  # no route takes a citizen id any more
    assert world.op.runtime.log.head == size


def test_cross_site_posts_without_the_sessions_token_are_refused(site):
    world, cv, agent = site
    world.consent([{"area": "certificates", "access": "write"}, {"area": "certificates", "access": "read"}])
    browser = cv.signed_in_browser(agent)
    size = world.op.runtime.log.head
    other = cv.browser()
    foreign_token = _token(other, cv.url)
    for headers in ({}, {"X-CSRFToken": foreign_token}, {"X-CSRFToken": "forged"}):
        for path in ("/connect", "/cv/certificates", "/signout"):
            resp = browser.post(cv.url + path, data={"course": "Forged"}, headers=headers, allow_redirects=False)
            assert resp.status_code == 400 and "CSRF" in resp.text, (path, headers)
    assert world.op.runtime.log.head == size
    assert browser.get(cv.url + "/", headers=JSON).json()["citizen"] == world.cid  # still signed in
    signed_out = browser.post(cv.url + "/signout", headers={"X-CSRFToken": _token(browser, cv.url)}, allow_redirects=False)
    assert signed_out.status_code == 303 and browser.get(cv.url + "/", headers=JSON).json()["citizen"] is None


def test_another_citizens_request_does_not_exist_for_this_session(site, tmp_path):
    world, cv, agent = site
    browser = cv.signed_in_browser(agent)
    cv.store.add("someone-elses-request", "citizen:" + "ab" * 32)
    assert browser.get(cv.url + "/requests/someone-elses-request").status_code == 404


def _post_answer(cv, ans: signin.Answer | dict):
    body = ans.document() if isinstance(ans, signin.Answer) else ans
    return requests.post(cv.url + "/callback", json=body)


def test_sign_in_answers_that_do_not_prove_the_citizen_are_refused(site):
    world, cv, agent = site
    callback = cv.url + "/callback"
    seed = world.wallet.keys.request_seed()
    browser = cv.browser()
    challenge = cv.challenge(browser)
    mallory = signin.answer(CitizenKeys(b"\x07" * 32).request_seed(), challenge, "cv-builder", callback)
    refusals = {
        "signed by another key": {**signin.answer(seed, challenge, "cv-builder", callback).document(), "signature": mallory.signature},
        "for another service": signin.answer(seed, challenge, "job-board", callback).document(),
        "for another callback": signin.answer(seed, challenge, "cv-builder", "https://evil.example/callback").document(),
        "not a citizen id": {**mallory.document(), "citizen": "service:cv-builder"},
        "signature not base64": {**mallory.document(), "signature": "!!"},
        "not a sign-in": {**mallory.document(), "type": "consent.revoked"},
        "fields not strings": {**mallory.document(), "challenge": 7},
    }
    for why, body in refusals.items():
        resp = _post_answer(cv, body)
        assert resp.status_code == 400 and resp.json()["type"].endswith("/bad-request"), why
    assert requests.post(callback, data=b"[", headers={"Content-Type": "application/json"}).status_code == 400
    assert browser.get(cv.url + "/signin", headers=JSON).json()["status"] == "waiting"  # none of them signed anyone in

    unknown = _post_answer(cv, signin.answer(seed, "never-issued", "cv-builder", callback))
    assert unknown.status_code == 404 and unknown.json()["type"].endswith("/unknown-challenge")
    assert _post_answer(cv, signin.answer(seed, challenge, "cv-builder", callback)).status_code == 204
    replay = _post_answer(cv, signin.answer(CitizenKeys(b"\x07" * 32).request_seed(), challenge, "cv-builder", callback))
    assert replay.status_code == 404  # answered once: a second answer cannot take the sign-in over
    assert browser.get(cv.url + "/signin", allow_redirects=False).status_code == 303
    assert browser.get(cv.url + "/", headers=JSON).json()["citizen"] == world.cid


def test_a_challenge_signs_in_only_the_browser_that_asked_and_only_once(site):
    world, cv, agent = site
    asker, bystander = cv.browser(), cv.browser()
    challenge = cv.challenge(asker)
    cv.challenge(bystander)
    agent.sign_in("cv-builder", challenge)
    assert bystander.get(cv.url + "/signin", headers=JSON).json()["status"] == "waiting"
    assert asker.get(cv.url + "/signin", allow_redirects=False).status_code == 303
    assert cv.store.take_signin(challenge) is None  # consumed by the sign-in
    with pytest.raises(SignInRefused, match="did not accept"):
        agent.sign_in("cv-builder", challenge)


def test_an_expired_challenge_is_refused_and_replaced(site, monkeypatch):
    world, cv, agent = site
    monkeypatch.setattr(cv.routes, "CHALLENGE_SECONDS", -1)
    browser = cv.browser()
    old = cv.challenge(browser)
    with pytest.raises(SignInRefused, match="expired"):
        agent.sign_in("cv-builder", old)
    monkeypatch.undo()
    assert cv.challenge(browser) != old


def test_sign_in_never_redirects_off_the_site(site):
    world, cv, agent = site
    browser = cv.browser()
    agent.sign_in("cv-builder", cv.challenge(browser))
    for target in ("//evil.example/", "https://evil.example/", "javascript:alert(1)"):
        assert browser.get(cv.url + "/signin", params={"next": target}, allow_redirects=False).headers["Location"] == "/"


def _connect(cv, browser, agent, permissions):
    rid = browser.post(cv.url + "/connect", headers={"X-CSRFToken": _token(browser, cv.url)}, allow_redirects=False).headers["Location"].rsplit("/", 1)[-1]
    agent.approve(next(r for r in agent.pending() if r["id"] == rid), permissions)
    return rid


def _denials(world) -> list[str]:
    return [json.loads(world.op.runtime.log.entry(i))["area"] for i in world.op.runtime.log.find(world.cid) if b'"data.denied"' in world.op.runtime.log.entry(i)]


def test_the_cv_reads_only_what_was_granted_and_an_empty_area_is_a_read_of_nothing(site):
    world, cv, agent = site
    browser = cv.signed_in_browser(agent)
    assert "You have not shared your CV with CV Builder yet" in browser.get(cv.url + "/cv").text
    _connect(cv, browser, agent, [{"area": "work", "access": "read"}, {"area": "skills", "access": "read"}])
    page = browser.get(cv.url + "/cv", headers=JSON).json()
    assert page["sections"] == {"work": WORK} and page["empty"] == ["skills"]
    assert page["not_shared"] == ["education", "certificates"] and page["refused"] == {}
    html = browser.get(cv.url + "/cv").text
    assert "You chose not to share your education." in html and "Your skills: nothing stored yet." in html
    assert _denials(world) == []  # two page views, no denial in the citizen's history
    reads = [json.loads(world.op.runtime.log.entry(i)) for i in world.op.runtime.log.find(world.cid)]
    assert {(e["area"], e["decision"]) for e in reads if e["type"] == "data.read"} == {("work", "released"), ("skills", "empty")}
    assert all(e["version"] == 0 for e in reads if e.get("decision") == "empty")


def test_after_a_revoke_the_cv_says_so_and_reads_nothing(site):
    world, cv, agent = site
    browser = cv.signed_in_browser(agent)
    rid = _connect(cv, browser, agent, [{"area": "work", "access": "read"}])
    consent_id = browser.get(f"{cv.url}/requests/{rid}", headers=JSON).json()["consent_id"]
    agent.revoke(consent_id)
    size = world.op.runtime.log.head
    page = browser.get(cv.url + "/cv")
    assert page.status_code == 403 and "You revoked your consent on" in page.text
    assert world.op.runtime.log.head == size  # nothing asked for, nothing denied


def test_after_a_revoke_the_service_asks_again_and_the_citizen_sees_the_new_request(site):
    world, cv, agent = site
    browser = cv.signed_in_browser(agent)
    first = _connect(cv, browser, agent, [{"area": "work", "access": "read"}])
    agent.revoke(browser.get(f"{cv.url}/requests/{first}", headers=JSON).json()["consent_id"])
    again = browser.post(cv.url + "/connect", headers={"X-CSRFToken": _token(browser, cv.url)}, allow_redirects=False).headers["Location"].rsplit("/", 1)[-1]
    assert again != first and [r["id"] for r in agent.pending()] == [again]
    agent.approve(agent.pending()[0], [{"area": "work", "access": "read"}])
    assert browser.get(cv.url + "/cv", headers=JSON).json()["sections"] == {"work": WORK}  # the new consent counts
