"""Consent receipts verify offline against the chain alone, and every tampered part is named."""

import base64
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
from ledger.tlog.note import Signer
from ledger.wallet import Wallet

from .helpers import grant_via_operator


@pytest.fixture
def issued(operator, tmp_path):
    """The third of three receipts: its log index is 2, so its inclusion proof has a path,
    and the registry holds an anchor before the one it names."""
    wallet = Wallet.create(tmp_path / "w.json")
    rcpt = [grant_via_operator(operator, wallet) for _ in range(3)][-1]
    assert rcpt["log"]["index"] >= 2 and rcpt["anchor"]["index"] >= 1
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


def flip_b64(value: str, at: int = 5) -> str:
    raw = bytearray(base64.b64decode(value))
    raw[at] ^= 1
    return base64.b64encode(bytes(raw)).decode()


def _entry_changed(r, old: bytes, new: bytes):
    entry = base64.b64decode(r["log"]["entry"])
    assert old in entry
    r["log"]["entry"] = base64.b64encode(entry.replace(old, new)).decode()


def _entry_time_changed(r):
    """A field the entry check does not compare: only the inclusion proof can catch it."""
    t = json.loads(base64.b64decode(r["log"]["entry"]))["time"]
    _entry_changed(r, f'"time":"{t}"'.encode(), b'"time":"2000-01-01T00:00:00Z"')


def _entry_signer_changed(r):
    signer = json.loads(base64.b64decode(r["log"]["entry"]))["signer"]
    _entry_changed(r, signer.encode(), b"0x" + b"1" * 40)


def _proof_path_flipped(r):
    lines = r["log"]["tlog_proof"].split("\n")
    lines[2] = flip_b64(lines[2])  # the first hash of the path, after the header and index lines
    r["log"]["tlog_proof"] = "\n".join(lines)


def _checkpoint_sig_flipped(r):
    head, sig = r["log"]["tlog_proof"].rsplit(" ", 1)
    r["log"]["tlog_proof"] = head + " " + flip_b64(sig.strip(), 20) + "\n"


TAMPERS = {
    "salt": (lambda r: r.update(salt="0x" + "00" * 32), "commitment"),
    "record field": (lambda r: r["record"]["purposes"].append("dpv:Marketing"), "commitment"),
    "invalid record": (lambda r: r["record"].update(jurisdiction="Sweden"), "record"),
    "signature": (lambda r: r["grant"].update(signature=r["grant"]["signature"][:-4] + ("1b" if r["grant"]["signature"][-2:] != "1b" else "1c") + r["grant"]["signature"][-2:]), "signature"),
    "chain tx": (lambda r: r["chain"].update(tx=r["anchor"]["tx"]), "chain"),
    "log entry": (lambda r: r["log"].update(entry=base64.b64encode(base64.b64decode(r["log"]["entry"]).replace(b'"block":', b'"block":1')).decode()), "log entry"),
    "log index": (lambda r: r["log"].update(index=r["log"]["index"] + 1), "inclusion"),
    "checkpoint signature": (_checkpoint_sig_flipped, "checkpoint"),
    "foreign log key": (lambda r: r["log"].update(vkey=Signer(r["log"]["origin"], b"\x07" * 32).verifier.vkey), "checkpoint"),
    "anchor size": (lambda r: r["anchor"].update(size=r["anchor"]["size"] + 1), "anchor"),
    "log entry time": (_entry_time_changed, "inclusion"),
    "log entry signer": (_entry_signer_changed, "log entry"),
    "inclusion path": (_proof_path_flipped, "inclusion"),
    "another anchor's index": (lambda r: r["anchor"].update(index=r["anchor"]["index"] - 1), "anchor"),
    "anchor index out of range": (lambda r: r["anchor"].update(index=10**6), "anchor"),
    "anchor tx without the anchor": (lambda r: r["anchor"].update(tx=r["chain"]["tx"], block=r["chain"]["block"]), "anchor"),
    "anchor block": (lambda r: r["anchor"].update(block=r["anchor"]["block"] + 1), "anchor"),
    "unknown anchor tx": (lambda r: r["anchor"].update(tx="0x" + "ab" * 32), "anchor"),
    "unknown grant tx": (lambda r: r["chain"].update(tx="0x" + "ab" * 32), "chain"),
    "no authorization": (lambda r: r["grant"].pop("authorization"), "authorization"),
    "authorization signature": (lambda r: r["grant"]["authorization"].update(signature=flip_b64(r["grant"]["authorization"]["signature"])), "authorization"),
    "authorization by another citizen": (lambda r: r["grant"]["authorization"].update(citizen="citizen:" + "ab" * 32), "authorization"),
    "authorization for another service": (lambda r: r["grant"]["authorization"].update(service="job-board"), "authorization"),
    "type": (lambda r: r.update(type="something-else"), "format"),
    "missing part": (lambda r: r.pop("anchor"), "format"),
}


@pytest.mark.parametrize("name", TAMPERS)
def test_each_tampered_part_is_named(issued, name):
    rcpt, registry_for = issued
    tamper, check = TAMPERS[name]
    bad = copy.deepcopy(rcpt)
    tamper(bad)
    with pytest.raises(receipt.ReceiptError) as err:
        receipt.verify(bad, registry_for)
    assert err.value.check == check


def test_a_pinned_log_key_must_match(issued):
    rcpt, registry_for = issued
    with pytest.raises(receipt.ReceiptError, match="pinned"):
        receipt.verify(rcpt, registry_for, vkey=Signer("x.example/log", b"\x01" * 32).verifier.vkey)


def test_a_receipt_for_another_citizen_than_the_service_knows_fails_authorization(issued):
    rcpt, registry_for = issued
    with pytest.raises(receipt.ReceiptError, match="not by citizen:") as err:
        receipt.verify(rcpt, registry_for, citizen="citizen:" + "cd" * 32)
    assert err.value.check == "authorization"


def test_a_consent_the_operator_made_up_with_its_own_key_is_caught(operator, tmp_path):
    """An operator test double fabricates a grant for a citizen with a key it made up and
    relays it straight to the registry (past its own check): receipt verification against the
    citizen the service knows refuses it, whatever authorization the operator attaches."""
    victim = Wallet.create(tmp_path / "victim.json")
    honest = grant_via_operator(operator, Wallet.create(tmp_path / "other.json"))  # evidence shape to copy
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
