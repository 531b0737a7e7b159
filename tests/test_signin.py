"""The sign-in statement (ledger/signin.py) on its own: what a citizen signs binds the
challenge, the citizen, the service and its callback; anything else is refused."""

import base64

import pytest

from ledger import signin
from ledger.keys import CitizenKeys

SEED = CitizenKeys(b"\x01" * 32).request_seed()
OTHER = CitizenKeys(b"\x02" * 32).request_seed()
CALLBACK = "https://cv.example/callback"


def test_an_answer_verifies_for_its_service_and_names_its_citizen():
    ans = signin.answer(SEED, "c1", "cv-builder", CALLBACK)
    assert signin.verify(signin.parse(ans.document()), "cv-builder", CALLBACK) == CitizenKeys(b"\x01" * 32).citizen_id()
    assert signin.statement("c1", ans.citizen, "cv-builder", CALLBACK).startswith(b"mydata-signin/v1\n")


@pytest.mark.parametrize(
    "tamper",
    [
        lambda a: {**a, "challenge": "c2"},
        lambda a: {**a, "citizen": signin.answer(OTHER, "c1", "cv-builder", CALLBACK).citizen},
        lambda a: {**a, "signature": signin.answer(OTHER, "c1", "cv-builder", CALLBACK).signature},
        lambda a: {**a, "signature": base64.b64encode(b"\x00" * 64).decode()},
        lambda a: {**a, "signature": a["signature"][:-4]},
        lambda a: {**a, "signature": "not base64!"},
        lambda a: {**a, "citizen": "service:cv-builder"},
    ],
)
def test_a_changed_answer_is_refused(tamper):
    ans = tamper(signin.answer(SEED, "c1", "cv-builder", CALLBACK).document())
    with pytest.raises(signin.SigninError):
        signin.verify(signin.parse(ans), "cv-builder", CALLBACK)


@pytest.mark.parametrize(("service", "callback"), [("job-board", CALLBACK), ("cv-builder", "https://evil.example/callback")])
def test_an_answer_for_one_service_signs_in_at_no_other(service, callback):
    ans = signin.answer(SEED, "c1", "cv-builder", CALLBACK)
    with pytest.raises(signin.SigninError, match="not the citizen's"):
        signin.verify(ans, service, callback)


@pytest.mark.parametrize(
    "body",
    [None, [], {"type": "consent.revoked"}, {"type": "signin", "challenge": "c", "citizen": "x"},
     {"type": "signin", "challenge": "", "citizen": "x", "signature": "y"}, {"type": "signin", "challenge": "c" * 201, "citizen": "x", "signature": "y"},
     {"type": "signin", "challenge": 1, "citizen": "x", "signature": "y"}],
)
def test_malformed_bodies_are_not_answers(body):
    with pytest.raises(signin.SigninError):
        signin.parse(body)


def test_the_citizen_signs_exactly_the_documented_statement():
    """Format vector (ledger/signin.py): "mydata-signin/v1\\n" then JCS of the four fields."""
    citizen = CitizenKeys(b"\x01" * 32).citizen_id()
    assert signin.statement("c1", citizen, "cv-builder", CALLBACK) == (
        b'mydata-signin/v1\n{"callback":"https://cv.example/callback","challenge":"c1","citizen":"' + citizen.encode() + b'","service":"cv-builder"}'
    )


def test_a_signature_with_stray_characters_is_refused_not_cleaned():
    ans = signin.answer(SEED, "c1", "cv-builder", CALLBACK)
    stray = signin.Answer(ans.challenge, ans.citizen, ans.signature[:4] + "\n!" + ans.signature[4:])
    with pytest.raises(signin.SigninError, match="^the signature is not the citizen's for this service$"):
        signin.verify(stray, "cv-builder", CALLBACK)


def test_each_refusal_names_its_reason():
    with pytest.raises(signin.SigninError, match="^not a sign-in answer$"):
        signin.parse({"type": "other"})
    with pytest.raises(signin.SigninError, match="^challenge, citizen and signature must be strings$"):
        signin.parse({"type": "signin", "challenge": 1, "citizen": "x", "signature": "y"})
    with pytest.raises(signin.SigninError, match="^not a MyData citizen id$"):
        signin.verify(signin.Answer("c", "service:x", "s"), "cv-builder", CALLBACK)


@pytest.mark.parametrize(("length", "ok"), [(1, True), (200, True), (0, False), (201, False)])
def test_fields_may_be_1_to_200_characters(length, ok):
    body = {"type": "signin", "challenge": "c" * length, "citizen": "x", "signature": "y"}
    if ok:
        assert signin.parse(body).challenge == "c" * length
    else:
        with pytest.raises(signin.SigninError):
            signin.parse(body)
