"""Consent receipts verify against a live node alone, with no operator online (each tampered
part is named in test_receipt_checks.py, against a recorded chain)."""

import copy
import json
import os

import pytest
from eth_account import Account
from nacl.signing import SigningKey

from consent_operator.http.ledger_api import receipt_evidence
from ledger import consent_binding, eip712, receipt, record
from ledger.chain import ChainClient
from ledger.keys import citizen_key_id
from ledger.registry import Registry, SignedGrant
from ledger.wallet import Wallet

from .helpers import PASSPHRASE, grant_via_operator


@pytest.fixture
def issued(operator, tmp_path):
    wallet = Wallet.create(tmp_path / "w.json", PASSPHRASE)
    rcpt = grant_via_operator(operator, wallet)
    operator.close()  # from here on no operator is online
    client = ChainClient(operator.config.chain_url)
    return rcpt, (lambda chain_id, contract: Registry(client, contract))


def test_a_fresh_receipt_verifies_without_the_operator(issued):
    rcpt, registry_for = issued
    report = receipt.verify(json.loads(json.dumps(rcpt)), registry_for)
    assert report.status == "active" and len(report.checks) == 6
    citizen_id = rcpt["grant"]["authorization"]["citizen"]
    assert f"{citizen_id} authorized that key for this consent (off chain)" in report.checks
    assert receipt.verify(rcpt, registry_for, citizen=citizen_id).status == "active"


@pytest.mark.parametrize("part", ["chain", "anchor"])
def test_a_transaction_the_node_does_not_know_fails_its_part(issued, part):
    """Each node answers an unknown transaction its own way (null, or an error): both are the
    receipt's failure, not an RPC error."""
    rcpt, registry_for = issued
    bad = copy.deepcopy(rcpt)
    bad[part]["tx"] = "0x" + "ab" * 32
    with pytest.raises(receipt.ReceiptError) as err:
        receipt.verify(bad, registry_for)
    assert err.value.check == part


def test_a_consent_the_operator_made_up_with_its_own_key_is_caught(operator, tmp_path):
    """An operator test double fabricates a grant for a citizen with a key it made up and
    relays it straight to the registry (past its own check): receipt verification against the
    citizen the service knows refuses it, whatever authorization the operator attaches."""
    victim = Wallet.create(tmp_path / "victim.json", PASSPHRASE)
    honest = grant_via_operator(operator, Wallet.create(tmp_path / "other.json", PASSPHRASE))  # evidence shape to copy
    rec = copy.deepcopy(honest["record"])
    rec["record_id"] = "0x" + os.urandom(32).hex()
    salt = record.new_salt()
    commitment = record.commitment(rec, salt)
    made_up = Account.create()
    cid = bytes.fromhex(rec["record_id"][2:])
    message = eip712.grant_message(cid, commitment, record.expires_at_unix(rec))
    dep = operator.runtime.deployment
    signature = eip712.sign(made_up, "Grant", message, dep.chain_id, dep.address)
    tx = operator.runtime.registry.grant(SignedGrant(cid, commitment, record.expires_at_unix(rec), signature), operator.account)
    operator.runtime.follower.sync()
    operator_seed = os.urandom(32)  # the operator can only sign with keys it has: none of them is the victim's
    operator_citizen = citizen_key_id(bytes(SigningKey(operator_seed).verify_key))
    grant = {
        "consent_id": rec["record_id"], "commitment": "0x" + commitment.hex(), "expires_at": record.expires_at_unix(rec),
        "signature": "0x" + signature.hex(), "signer": made_up.address,
        "authorization": consent_binding.authorize(operator_citizen, operator_seed, rec["record_id"], made_up.address, "0x" + commitment.hex(), "cv-builder"),
    }
    chain = {**honest["chain"], "tx": "0x" + bytes(tx["transactionHash"]).hex(), "block": tx["blockNumber"]}
    with operator.app.app_context():
        forged = receipt.build(rec, salt, grant, chain, receipt_evidence(operator.runtime, rec["record_id"]))
    client = ChainClient(operator.config.chain_url)
    registry_for = lambda chain_id, contract: Registry(client, contract)  # noqa: E731
    receipt.verify(forged, registry_for)  # on its own, every part checks out: only who authorized the key is wrong
    with pytest.raises(receipt.ReceiptError) as err:
        receipt.verify(forged, registry_for, citizen=victim.keys.citizen_id())
    assert err.value.check == "authorization"
