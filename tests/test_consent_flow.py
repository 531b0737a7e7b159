"""Services register and ask; citizens approve per permission or refuse; every wrong caller is refused."""

import os

import pytest
from nacl.public import PrivateKey

from cv_service.sdk import ServiceClient
from ledger import citizen, events, receipt
from ledger.chain import ChainClient
from ledger.lookup_keys import revocation_key
from ledger.registry import Registry
from ledger.request_auth import RequestSigner
from ledger.wallet import Wallet

from .approvals import approval_edits
from .helpers import PASSPHRASE

PERMS = [{"area": "work", "access": "read"}, {"area": "education", "access": "read"}, {"area": "certificates", "access": "write"}]


@pytest.fixture
def service(operator):
    svc = ServiceClient(operator.url, "cv-builder", os.urandom(32), PrivateKey.generate())
    svc.register("CV Builder", "Builds your CV from your work history", "https://cv.example/callback")
    return svc


@pytest.fixture
def anna(operator, tmp_path):
    wallet = Wallet.create(tmp_path / "anna.json", PASSPHRASE)
    return wallet, citizen.signed_operator(wallet, operator.url)


def ask(service, wallet, perms=PERMS, days=30):
    return service.request_consent(wallet.keys.citizen_id(), ["dpv:ServiceProvision"], perms, days, "https://cv.example/notice", b"notice")


def test_request_approve_per_permission_and_receipt(operator, service, anna):
    wallet, client = anna
    rid = ask(service, wallet)
    [pending] = citizen.pending_requests(wallet, client)
    assert pending["service"]["name"] == "CV Builder" and pending["permissions"] == PERMS
    rcpt = citizen.approve(wallet, client, pending, permissions=PERMS[:1])  # only work:read
    status = service.consent_request(rid)
    assert status["status"] == "approved" and status["receipt"] == rcpt
    chain = ChainClient(operator.config.chain_url)
    report = receipt.verify(rcpt, lambda c, a: Registry(chain, a))
    assert report.status == "active"
    indexed = operator.runtime.directory.consent(rcpt["grant"]["consent_id"])
    assert indexed.allows("work", "read") and not indexed.allows("education", "read")
    assert citizen.pending_requests(wallet, client) == []


def test_refusal_is_logged_and_final(operator, service, anna):
    wallet, client = anna
    rid = ask(service, wallet)
    [pending] = citizen.pending_requests(wallet, client)
    citizen.refuse(client, pending)
    assert service.consent_request(rid)["status"] == "refused"
    [index] = operator.runtime.log.find("request:" + rid)
    entry = events.decode(operator.runtime.log.entry(index))
    assert entry["type"] == events.CONSENT_REFUSED and entry["service"] == "cv-builder"
    with pytest.raises(citizen.OperatorError) as err:
        citizen.approve(wallet, client, pending)
    assert err.value.problem["type"].endswith("/request-decided")


def test_a_record_granting_more_than_requested_is_refused(operator, service, anna):
    wallet, client = anna
    ask(service, wallet, perms=PERMS[:1])
    [pending] = citizen.pending_requests(wallet, client)
    with pytest.raises(citizen.OperatorError) as err:
        citizen.approve(wallet, client, pending, permissions=[{"area": "work", "access": "write"}])
    assert err.value.problem["field"] == "record.data_areas"
    assert citizen.pending_requests(wallet, client)[0]["status"] == "pending"


def test_other_citizens_and_services_cannot_see_or_decide_a_request(operator, service, anna, tmp_path):
    wallet, _ = anna
    rid = ask(service, wallet)
    bertil = Wallet.create(tmp_path / "bertil.json", PASSPHRASE)
    bclient = citizen.signed_operator(bertil, operator.url)
    with pytest.raises(citizen.OperatorError) as err:
        bclient.get(f"/v1/citizens/{wallet.keys.citizen_id()}/consent-requests")
    assert err.value.problem["type"].endswith("/forbidden")
    with pytest.raises(citizen.OperatorError) as err:
        citizen.refuse(bclient, {"id": rid})
    assert err.value.problem["type"].endswith("/forbidden")
    other = ServiceClient(operator.url, "employer", os.urandom(32), PrivateKey.generate())
    other.register("Employer", "Hires people", "https://employer.example/cb")
    with pytest.raises(citizen.OperatorError) as err:
        other.consent_request(rid)
    assert err.value.problem["type"].endswith("/forbidden")
    with pytest.raises(citizen.OperatorError) as err:  # a citizen cannot create requests
        bclient.post("/v1/consent-requests", {"citizen": bertil.keys.citizen_id()})
    assert err.value.problem["type"].endswith("/forbidden")


def test_service_registration_needs_the_key_it_names_and_re_registration_the_old_key(operator, service):
    impostor = ServiceClient(operator.url, "cv-builder", os.urandom(32), PrivateKey.generate())
    with pytest.raises(citizen.OperatorError) as err:
        impostor.register("Fake", "Takes over cv-builder", "https://evil.example/cb")
    assert err.value.problem["type"].endswith("/bad-signature")
    assert operator.runtime.directory.service("cv-builder").name == "CV Builder"
    with pytest.raises(citizen.OperatorError) as err:  # authenticated (the key is kept now), then refused for its body
        service.operator.post("/v1/consent-requests", {})
    assert err.value.problem["type"].endswith("/bad-request")
    rotated = RequestSigner("service:cv-builder", os.urandom(32))
    body = {"id": "cv-builder", "name": "CV Builder 2", "description": "d", "callback_url": "https://cv.example/cb",
            "sign_key": rotated.public_key().hex(), "enc_key": bytes(service.enc_key.public_key).hex()}
    assert service.operator.post("/v1/services", body)["id"] == "cv-builder"  # signed by the old key
    assert operator.runtime.directory.service("cv-builder").sign_key == rotated.public_key()
    with pytest.raises(citizen.OperatorError) as err:  # the old key is retired at once where it was replaced
        service.operator.post("/v1/consent-requests", {})
    assert err.value.problem["type"].endswith("/bad-signature")


def test_unsigned_or_unknown_callers_are_refused(operator):
    from ledger.citizen import OperatorClient

    anonymous = OperatorClient(operator.url)
    with pytest.raises(citizen.OperatorError) as err:
        anonymous.post("/v1/consent-requests", {})
    assert err.value.problem["type"].endswith("/unsigned-request")
    ghost = OperatorClient(operator.url)
    ghost.session.auth = RequestSigner("service:ghost", os.urandom(32))
    with pytest.raises(citizen.OperatorError) as err:
        ghost.post("/v1/consent-requests", {})
    assert err.value.problem["type"].endswith("/unknown-key")


def test_revocation_is_visible_to_the_index_through_the_log(operator, service, anna):
    wallet, client = anna
    ask(service, wallet)
    [pending] = citizen.pending_requests(wallet, client)
    rcpt = citizen.approve(wallet, client, pending)
    cid = rcpt["grant"]["consent_id"]
    assert operator.runtime.log.find(revocation_key(cid)) == []
    citizen.revoke_via_operator(wallet, citizen.OperatorClient(operator.url), cid)
    assert len(operator.runtime.log.find(revocation_key(cid))) == 1


def test_approval_without_the_citizens_encryption_key_is_refused(operator, service, anna):
    wallet, client = anna
    ask(service, wallet)
    [pending] = citizen.pending_requests(wallet, client)
    _, _, body = citizen.approval(wallet, client.info(), pending)
    del body["citizen_enc_key"]
    with pytest.raises(citizen.OperatorError) as err:
        client.post(f"/v1/consent-requests/{pending['id']}/approve", body)
    assert err.value.problem["status"] == 400 and err.value.problem["field"] == "citizen_enc_key"
    assert citizen.pending_requests(wallet, client)[0]["status"] == "pending"


def test_every_approval_that_differs_from_the_request_or_its_commitment_is_refused(operator, service, anna):
    wallet, client = anna
    ask(service, wallet, days=30)
    [pending] = citizen.pending_requests(wallet, client)
    info = client.info()
    rec, _, body = citizen.approval(wallet, info, pending)
    size = operator.runtime.log.head
    for field, edit in approval_edits(wallet, info).items():
        with pytest.raises(citizen.OperatorError) as err:
            client.post(f"/v1/consent-requests/{pending['id']}/approve", edit(rec, body))
        assert (err.value.problem["status"], err.value.problem.get("field")) == (400, field), field
    assert citizen.pending_requests(wallet, client)[0]["status"] == "pending"
    assert operator.runtime.log.head == size  # nothing relayed, nothing logged
    assert client.post(f"/v1/consent-requests/{pending['id']}/approve", body)["status"] == "approved"


def test_two_consents_of_one_citizen_share_no_value_on_chain(operator, service, anna):
    """The citizen's authorization binds each per-consent key to them off chain only: on chain
    (event fields and transaction input) two of their consents have nothing in common, and
    nothing names the citizen."""
    wallet, client = anna
    receipts = []
    for _ in range(2):
        ask(service, wallet)
        receipts.append(citizen.approve(wallet, client, citizen.pending_requests(wallet, client)[0]))
    chain = ChainClient(operator.config.chain_url)
    registry = operator.runtime.registry
    fields = []
    for rcpt in receipts:
        [event] = [e for e in registry.events(rcpt["chain"]["block"], rcpt["chain"]["block"]) if e.name == "ConsentGranted"]
        tx = chain.w3.eth.get_transaction(rcpt["chain"]["tx"])
        fields.append({event.args["consentId"].hex(), event.args["commitment"].hex(), event.args["signer"].lower()})
        on_chain = bytes(tx["input"]).hex() + str(event.args)
        citizen_key = wallet.keys.citizen_id().split(":")[1]
        assert citizen_key not in on_chain and rcpt["grant"]["authorization"]["signature"] not in on_chain
        assert receipt.verify(rcpt, lambda c, a: Registry(chain, a), citizen=wallet.keys.citizen_id()).status == "active"
    assert fields[0].isdisjoint(fields[1])
