"""Consent records (validation, RFC 8785, commitments) and citizen key derivation."""

from datetime import UTC, datetime

import pytest
import rfc8785

from ledger import record
from ledger.keys import CitizenKeys, PhraseError

from .helpers import make_record


def test_a_fresh_record_is_valid_and_canonical_by_rfc8785():
    rec = make_record()
    assert record.validate(rec) is rec
    assert record.canonical(rec) == rfc8785.dumps(rec)
    assert rec["expires_at"] == "2026-02-01T03:04:05Z"
    assert record.expires_at_unix(rec) == int(datetime(2026, 2, 1, 3, 4, 5, tzinfo=UTC).timestamp())


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"data_areas": [{"area": "work", "access": "delete"}]}, "data_areas[0].access"),
        ({"controller": {"id": "cv"}}, "controller.name"),
        ({"jurisdiction": "Sweden"}, "jurisdiction"),
        ({"expires_at": "2025-01-01T00:00:00Z"}, "expires_at"),
        ({"granted_at": "2026-13-45T00:00:00Z"}, "granted_at"),
        ({"purposes": []}, "purposes"),
        ({"email": "anna@example.se"}, "email"),
        ({"record_id": "42"}, "record_id"),
    ],
)
def test_bad_records_are_refused_naming_the_field(change, field):
    with pytest.raises(record.RecordError) as err:
        record.validate(make_record(**change))
    assert err.value.field == field


def test_missing_field_is_named():
    rec = make_record()
    del rec["lawful_basis"]
    with pytest.raises(record.RecordError, match="^lawful_basis: is required"):
        record.validate(rec)


def test_commitment_depends_on_salt_and_every_field():
    rec = make_record()
    salt = record.new_salt()
    c = record.commitment(rec, salt)
    assert c == record.commitment(dict(reversed(list(rec.items()))), salt)  # key order is irrelevant
    assert c != record.commitment(rec, record.new_salt())
    assert c != record.commitment(make_record(purposes=["dpv:Marketing"]), salt)
    with pytest.raises(record.RecordError):
        record.commitment(rec, b"short")


def test_keys_are_deterministic_from_the_phrase_and_unlinkable_per_consent():
    phrase = CitizenKeys.new_phrase()
    a, b = CitizenKeys.from_phrase(phrase), CitizenKeys.from_phrase("  " + phrase.replace(" ", "  ") + "\n")
    c1, c2 = b"\x01" * 32, b"\x02" * 32
    assert a.consent_account(c1).address == b.consent_account(c1).address
    assert a.consent_account(c1).address != a.consent_account(c2).address
    assert a.pseudonym("cv") == b.pseudonym("cv") != a.pseudonym("employer")
    other = CitizenKeys.from_phrase(CitizenKeys.new_phrase())
    assert other.consent_account(c1).address != a.consent_account(c1).address


@pytest.mark.parametrize("phrase", ["abandon " * 23 + "abandon", "not a phrase at all", ""])
def test_an_invalid_recovery_phrase_is_refused(phrase):
    with pytest.raises(PhraseError):
        CitizenKeys.from_phrase(phrase)
