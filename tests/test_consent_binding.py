"""The citizen's off-chain authorization of a consent's key (ledger/consent_binding.py):
the exact statement signed, and every way an authorization is refused."""

from __future__ import annotations

import base64

import pytest
from nacl.signing import SigningKey

from ledger.consent_binding import BindingError, authorize, statement, verify

CONSENT = "0x" + "AB" * 32
COMMITMENT = "0x" + "C0" * 32
SIGNER = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"  # EIP-55's first test vector, lowercased
SIGNER_EIP55 = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
SEED = bytes(range(32))
CITIZEN = "citizen:" + SigningKey(SEED).verify_key.encode().hex()


def test_the_statement_is_the_canonical_json_of_lowercase_ids_and_the_checksummed_signer():
    """A fixed vector: another implementation must sign exactly these bytes."""
    assert statement(CONSENT, SIGNER, COMMITMENT, "cv-builder") == (
        b'{"commitment":"0x' + b"c0" * 32 + b'","consent_id":"0x' + b"ab" * 32 + b'",'
        b'"service":"cv-builder","signer":"' + SIGNER_EIP55.encode() + b'","type":"mydata-consent-authorization/v1"}'
    )


def test_an_authorization_verifies_whatever_the_case_of_the_ids_it_was_made_with():
    auth = authorize(CITIZEN, SEED, CONSENT, SIGNER, COMMITMENT, "cv-builder")
    assert auth == {"citizen": CITIZEN, "service": "cv-builder", "signature": auth["signature"]}
    assert verify(auth, CONSENT.lower(), SIGNER_EIP55, COMMITMENT.lower(), CITIZEN, "cv-builder") == CITIZEN
    assert verify(auth, CONSENT, SIGNER, COMMITMENT) == CITIZEN


def _auth(**changes) -> dict:
    return {**authorize(CITIZEN, SEED, CONSENT, SIGNER, COMMITMENT, "cv-builder"), **changes}


NOT_VERIFIED = f"the citizen's authorization does not verify for consent {CONSENT.lower()} and key {SIGNER}"
MISSING = "the consent carries no citizen's authorization of its key"


@pytest.mark.parametrize(
    "authorization, expected, message",
    [
        (None, {}, MISSING),
        ("signed", {}, MISSING),
        ({k: v for k, v in _auth().items() if k != "citizen"}, {}, MISSING),
        ({k: v for k, v in _auth().items() if k != "service"}, {}, MISSING),
        ({k: v for k, v in _auth().items() if k != "signature"}, {}, MISSING),
        (_auth(signature=None), {}, MISSING),
        (_auth(citizen=7), {}, MISSING),
        (_auth(citizen="service:cv-builder"), {}, "'service:cv-builder' is not a citizen id"),
        (_auth(citizen=CITIZEN.upper()), {}, f"{CITIZEN.upper()!r} is not a citizen id"),
        (_auth(), {"citizen": "citizen:" + "ab" * 32}, f"the consent is authorized by {CITIZEN}, not by citizen:{'ab' * 32}"),
        (_auth(), {"service": "job-board"}, "the consent is authorized for 'cv-builder', not for 'job-board'"),
        (_auth(citizen="citizen:" + "ab" * 32), {}, NOT_VERIFIED),
        (_auth(service="job-board"), {}, NOT_VERIFIED),
        (_auth(signature=base64.b64encode(bytes(64)).decode()), {}, NOT_VERIFIED),
        (_auth(signature="not base64!"), {}, NOT_VERIFIED),
        (_auth(signature=_auth()["signature"][:40] + "!" + _auth()["signature"][40:]), {}, NOT_VERIFIED),  # strict: no skipped characters
        (_auth(signature=_auth()["signature"][:-4]), {}, NOT_VERIFIED),
    ],
    ids=[
        "none", "a string", "no citizen", "no service", "no signature", "signature null", "citizen a number", "a service's id",
        "an id in capitals", "another citizen expected", "another service expected", "signed by another", "for another service",
        "a zero signature", "not base64", "a stray character", "truncated",
    ],
)
def test_an_authorization_is_refused(authorization, expected, message):
    with pytest.raises(BindingError) as err:
        verify(authorization, CONSENT, SIGNER, COMMITMENT, **expected)
    assert str(err.value) == message
    assert err.value.problem_type == "invalid-authorization"


@pytest.mark.parametrize(
    "consent, signer, commitment",
    [("0x" + "ab" * 31 + "ac", SIGNER, COMMITMENT), (CONSENT, "0x" + "11" * 20, COMMITMENT), (CONSENT, SIGNER, "0x" + "c0" * 31 + "c1")],
    ids=["another consent", "another key", "another commitment"],
)
def test_an_authorization_covers_one_consent_key_and_commitment_only(consent, signer, commitment):
    with pytest.raises(BindingError, match="does not verify"):
        verify(_auth(), consent, signer, commitment)
