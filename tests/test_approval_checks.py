"""The operator's checks of an approval, without a chain or a server: every difference from
the request or from the commitment is refused naming its field; a faithful approval, for all
or only some of the permissions asked, passes whole."""

from __future__ import annotations

import hashlib

import pytest

from consent_operator.access.approval import check_approval, check_scope
from httpkit.problems import Problem
from ledger import citizen
from ledger.wallet import Wallet

from .approvals import approval_edits
from .helpers import PASSPHRASE

INFO = {"chain_id": 31337, "contract": "0x" + "ab" * 20}
DOMAIN = (INFO["chain_id"], INFO["contract"])
SCHEMA_FIELDS = {"grant.signature", "grant"}  # refused by schemas.APPROVAL before these checks run


@pytest.fixture
def asked(tmp_path):
    wallet = Wallet.create(tmp_path / "anna.json", PASSPHRASE)
    request = {
        "id": "r1", "service_id": "cv-builder", "citizen": wallet.keys.citizen_id(),
        "purposes": ["dpv:ServiceProvision"], "duration_days": 30,
        "permissions": [{"area": "work", "access": "read"}, {"area": "skills", "access": "read"}],
        "notice_url": "https://cv.example/n", "notice_sha256": hashlib.sha256(b"n").hexdigest(),
        "service": {"id": "cv-builder", "name": "CV Builder"},
    }
    return wallet, request


def test_a_faithful_approval_passes_with_its_grant(asked):
    wallet, request = asked
    rec, salt, body = citizen.approval(wallet, INFO, request)
    ok = check_approval(request, body, *DOMAIN)
    assert ok.record == rec and ok.salt == salt and ok.grant_doc == body["grant"]
    assert ok.grant.consent_id.hex() == rec["record_id"][2:] and "0x" + ok.grant.commitment.hex() == body["grant"]["commitment"]
    assert ok.grant.expires_at == body["grant"]["expires_at"] and "0x" + ok.grant.signature.hex() == body["grant"]["signature"]
    assert ok.citizen_enc_key.hex() == body["citizen_enc_key"]


def test_an_approval_of_some_permissions_passes(asked):
    wallet, request = asked
    _, _, body = citizen.approval(wallet, INFO, request, permissions=[{"area": "skills", "access": "read"}])
    assert check_approval(request, body, *DOMAIN).record["data_areas"] == [{"area": "skills", "access": "read"}]


# What each refusal tells the citizen's app, in plain words.
DETAILS = {
    "record.controller.id": "the record names another controller",
    "record.data_areas": "the record grants skills:read, which was not requested",
    "record.purposes": "the record names purposes that were not requested",
    "record.notice.sha256": "the record cites another notice",
    "record.expires_at": "the record lasts longer than requested",
    "record.subject": "subject: is required",
    "grant.commitment": "the grant does not commit to this record and salt",
    "grant.expires_at": "the grant's expiry differs from the record's",
}


def test_every_difference_is_refused_naming_its_field_in_plain_words(asked):
    wallet, request = asked
    rec, _, body = citizen.approval(wallet, INFO, request, permissions=request["permissions"][:1])
    request = {**request, "permissions": request["permissions"][:1]}  # skills was not asked for here
    for field, edit in approval_edits(wallet, INFO).items():
        if field in SCHEMA_FIELDS:
            continue
        with pytest.raises(Problem) as err:
            check_approval(request, edit(rec, body), *DOMAIN)
        assert (err.value.status, err.value.extra.get("field"), err.value.detail) == (400, field, DETAILS[field]), field


def test_a_grant_for_another_consent_id_is_refused(asked):
    wallet, request = asked
    rec, _, body = citizen.approval(wallet, INFO, request)
    body["grant"]["consent_id"] = "0x" + "00" * 32
    with pytest.raises(Problem) as err:
        check_approval(request, body, *DOMAIN)
    assert err.value.extra["field"] == "grant.commitment"


@pytest.mark.parametrize("extra_seconds, allowed", [(0, True), (1, False), (-86400, True)])
def test_a_record_may_last_exactly_as_long_as_asked_and_not_a_second_longer(asked, extra_seconds, allowed):
    from datetime import timedelta

    from ledger import record

    wallet, request = asked
    rec, _, _ = citizen.approval(wallet, INFO, request)  # 30 days
    rec["expires_at"] = record.format_time(record.parse_time(rec["granted_at"]) + timedelta(days=30, seconds=extra_seconds))
    if allowed:
        check_scope(request, rec)
    else:
        with pytest.raises(Problem, match="lasts longer"):
            check_scope(request, rec)


def test_purposes_may_be_fewer_than_asked_but_not_others(asked):
    wallet, request = asked
    rec, _, _ = citizen.approval(wallet, INFO, {**request, "purposes": ["dpv:ServiceProvision"]})
    check_scope({**request, "purposes": ["dpv:ServiceProvision", "dpv:Marketing"]}, rec)  # a subset passes
    with pytest.raises(Problem, match="purposes"):
        check_scope({**request, "purposes": ["dpv:Marketing"]}, rec)


@pytest.mark.parametrize("who", ["another citizen", "another service", "a made-up key"])
def test_a_grant_key_not_authorized_by_the_asked_citizen_for_this_service_is_refused(asked, tmp_path, who):
    """The operator cannot index a consent for a citizen with a key that citizen never authorized."""
    from ledger import consent_binding

    wallet, request = asked
    _, _, body = citizen.approval(wallet, INFO, request)
    grant = body["grant"]
    signer = consent_binding.verify(grant["authorization"], grant["consent_id"], _signer(grant), grant["commitment"])
    assert signer == wallet.keys.citizen_id()
    other = Wallet.create(tmp_path / "bertil.json", PASSPHRASE)
    if who == "another citizen":
        grant["authorization"] = consent_binding.authorize(
            other.keys.citizen_id(), other.keys.request_seed(), grant["consent_id"], _signer(grant), grant["commitment"], "cv-builder"
        )
    elif who == "another service":
        grant["authorization"] = consent_binding.authorize(
            wallet.keys.citizen_id(), wallet.keys.request_seed(), grant["consent_id"], _signer(grant), grant["commitment"], "job-board"
        )
    else:  # the authorization names the citizen, but the grant was signed by a key the operator made up
        from eth_account import Account

        from ledger import eip712

        forged_key = Account.create()
        message = eip712.grant_message(bytes.fromhex(grant["consent_id"][2:]), bytes.fromhex(grant["commitment"][2:]), grant["expires_at"])
        grant["signature"] = "0x" + eip712.sign(forged_key, "Grant", message, *DOMAIN).hex()
    with pytest.raises(Problem) as err:
        check_approval(request, body, *DOMAIN)
    assert (err.value.status, err.value.extra["field"]) == (400, "grant.authorization")
    assert err.value.detail == {
        "another citizen": f"the consent is authorized by {other.keys.citizen_id()}, not by {wallet.keys.citizen_id()}",
        "another service": "the consent is authorized for 'job-board', not for 'cv-builder'",
        "a made-up key": f"the citizen's authorization does not verify for consent {grant['consent_id']} and key {_signer(grant)}",
    }[who]


def test_a_grant_signature_that_cannot_be_read_is_refused_naming_it(asked):
    wallet, request = asked
    _, _, body = citizen.approval(wallet, INFO, request)
    body["grant"]["signature"] = "0x" + "ff" * 64 + "1b"  # r and s past the curve order: no key recovers from it
    with pytest.raises(Problem) as err:
        check_approval(request, body, *DOMAIN)
    assert (err.value.extra["field"], err.value.detail) == ("grant.signature", "the grant's signature cannot be read")


def _signer(grant):
    from ledger import eip712

    message = eip712.grant_message(bytes.fromhex(grant["consent_id"][2:]), bytes.fromhex(grant["commitment"][2:]), grant["expires_at"])
    return eip712.recover(bytes.fromhex(grant["signature"][2:]), "Grant", message, *DOMAIN)


def test_what_an_approval_leaves_out_is_what_was_refused():
    from consent_operator.access.approval import refused_permissions

    work, skills = {"area": "work", "access": "read"}, {"area": "skills", "access": "read"}
    assert refused_permissions([work, skills], [work]) == [skills]
    assert refused_permissions([work, skills], [skills, work]) == []
    assert refused_permissions([work], []) == [work]


def test_the_record_pins_exactly_the_agreement_the_request_names(asked):
    from ledger import agreement

    wallet, request = asked
    terms = {"type": "mydata-data-agreement/1", "service": "cv-builder", "version": 3, "purposes": ["dpv:ServiceProvision"], "lawful_basis": "dpv:Consent",
             "data_areas": request["permissions"], "retention_days": 0, "recipients": [], "jurisdiction": "SE"}
    named = {"version": 3, "sha256": agreement.digest(terms), "agreement": terms}
    under = {**request, "agreement": named}
    rec, _, body = citizen.approval(wallet, INFO, under)
    assert rec["agreement"] == {"version": 3, "sha256": named["sha256"]}
    check_approval(under, body, *DOMAIN)  # pinned as named
    plain, _, _ = citizen.approval(wallet, INFO, request)
    check_scope(request, plain)  # none named, none pinned
    for pinned, req in [
        ({"version": 2, "sha256": named["sha256"]}, under), ({"version": 3, "sha256": "00" * 32}, under), (None, under),
        ({"version": 3, "sha256": named["sha256"]}, request),
    ]:
        edited = {k: v for k, v in rec.items() if k != "agreement"} | ({"agreement": pinned} if pinned else {})
        with pytest.raises(Problem) as err:
            check_scope(req, edited)
        assert (err.value.extra["field"], err.value.detail) == ("record.agreement", "the record pins another data agreement than the request names")
