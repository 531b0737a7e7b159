"""The SDK's NotificationReceiver without any server: only the operator's signed, fresh,
first-seen notification naming this service is accepted, and each refusal says why."""

from __future__ import annotations

import io
import json

import pytest
import requests
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from cv_service.notifications import ConsentEnded, NoncesInMemory, NotificationError, NotificationReceiver
from ledger.request_auth import RequestAuthError, RequestSigner

URL = "http://127.0.0.1:9/notifications"
OPERATOR = RequestSigner("operator", b"\x01" * 32)
BODY = {"type": "consent.ended", "id": 7, "reason": "revoked", "consent_id": "0x" + "ab" * 32, "service": "cv-builder",
        "citizen": "citizen:" + "cd" * 32, "time": "2026-11-30T10:00:00Z", "log_index": 7}


def _request(body, signer=OPERATOR) -> Request:
    """A signed POST as the operator sends it, as the service's Flask app receives it."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    prepared = requests.Request("POST", URL, data=data, headers={"Content-Type": "application/json"}).prepare()
    if signer is not None:
        signer.sign(prepared)
    env = EnvironBuilder(path="/notifications", base_url="http://127.0.0.1:9", method="POST", data=data, headers=dict(prepared.headers)).get_environ()
    return Request(env)


@pytest.fixture
def receiver():
    asked = []

    def operator_key():
        asked.append(1)
        return "operator", OPERATOR.public_key()

    r = NotificationReceiver("cv-builder", operator_key)
    r.asked = asked
    return r


def test_the_operators_notification_is_read(receiver):
    assert receiver.receive(_request(BODY)) == ConsentEnded(7, BODY["consent_id"], BODY["citizen"], "revoked", BODY["time"])
    assert receiver.receive(_request({**BODY, "id": 8, "reason": "expired"})).reason == "expired"
    assert receiver.asked == [1]  # the operator's key is fetched once


@pytest.mark.parametrize("change", [
    {"service": "job-board"}, {"type": "consent.started"}, {"reason": "paused"}, {"id": "7"}, {"id": True},
    {"consent_id": 7}, {"citizen": None}, {"time": 1},
])
def test_a_wrong_body_is_refused_even_when_signed(receiver, change):
    with pytest.raises(NotificationError, match="^not a consent-ended notification for this service$"):
        receiver.receive(_request({**BODY, **change}))


def test_a_body_that_is_not_an_object_or_not_json_is_refused(receiver):
    for body in (b"[1, 2]", b"not json", b'"text"'):
        with pytest.raises(NotificationError):
            receiver.receive(_request(body))


@pytest.mark.parametrize(("signer", "slug"), [
    (None, "unsigned-request"),
    (RequestSigner("operator", b"\x02" * 32), "bad-signature"),
    (RequestSigner("service:cv-builder", b"\x01" * 32), "unknown-key"),  # the operator's key, under another id
])
def test_a_notification_not_signed_by_the_operator_is_refused(receiver, signer, slug):
    with pytest.raises(RequestAuthError) as refused:
        receiver.receive(_request(BODY, signer))
    assert refused.value.slug == slug


def test_the_same_signed_notification_twice_is_refused_the_second_time(receiver):
    req = _request(BODY)
    again = Request(dict(req.environ, **{"wsgi.input": io.BytesIO(json.dumps(BODY).encode())}))
    receiver.receive(req)
    with pytest.raises(RequestAuthError) as refused:
        receiver.receive(again)
    assert refused.value.slug == "replayed-request"


def test_nonces_are_remembered_until_they_expire_and_forgotten_per_key(monkeypatch):
    import cv_service.notifications as notifications

    nonces, now = NoncesInMemory(), [1000.0]
    monkeypatch.setattr(notifications.time, "time", lambda: now[0])
    assert nonces.use("operator", "n1", 1010.0) and not nonces.use("operator", "n1", 1010.0)
    assert nonces.use("other", "n1", 1010.0)  # another key's nonce space
    now[0] = 1010.0
    assert not nonces.use("operator", "n1", 1010.0)  # still within its window at the very second it ends
    now[0] = 1011.0
    assert nonces.use("operator", "n1", 1020.0)  # expired: may be seen again
    assert nonces.forget("operator") == 1 and nonces.use("operator", "n1", 1020.0)
    assert nonces.forget("nobody") == 0


def test_the_handler_acts_once_per_accepted_notification_and_answers_problems(receiver):
    from httpkit.problems import Problem

    acted = []
    assert receiver.handle(_request(BODY), acted.append) == ("", 204) and [e.id for e in acted] == [7]
    for req, answer in (
        (_request(BODY, None), (401, "unsigned-request", "Not a notification signed by the operator", "the request carries no Signature and Signature-Input")),
        (_request({**BODY, "reason": "x"}), (400, "invalid-notification", "Not a consent-ended notification", "not a consent-ended notification for this service")),
    ):
        with pytest.raises(Problem) as answered:
            receiver.handle(req, acted.append)
        assert (answered.value.status, answered.value.slug, answered.value.title, answered.value.detail) == answer
    assert len(acted) == 1  # nothing acted on a refused one
