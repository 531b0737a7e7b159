"""Every part of a receipt is checked, and each tampered part is named: verified offline
against a recorded chain (tests/recorded_chain.py), fast enough to run once per mutant."""

import base64
import copy
import json
import os
import re
import warnings

import pytest
from eth_account import Account
from nacl.signing import SigningKey

from ledger import consent_binding, eip712, receipt
from ledger.keys import citizen_key_id
from ledger.tlog import note
from ledger.tlog.cosignature import Cosigner, WitnessPolicy
from ledger.tlog.note import Signer
from ledger.tlog.tlog_proof import TlogProof


@pytest.fixture
def issued(recorded_chain):
    return copy.deepcopy(recorded_chain.receipt), recorded_chain.registry_for


def test_the_recorded_receipt_verifies_with_six_checks(issued):
    rcpt, registry_for = issued
    asked = []
    report = receipt.verify(rcpt, lambda chain_id, contract: asked.append((chain_id, contract)) or registry_for(chain_id, contract))
    assert asked == [(rcpt["chain"]["chain_id"], rcpt["chain"]["contract"])]
    citizen_id = rcpt["grant"]["authorization"]["citizen"]
    assert report.consent_id == rcpt["grant"]["consent_id"].lower() and report.status == "active"
    assert report.checks == [
        "record and salt match the commitment",
        "the per-consent key's EIP-712 signature is valid",
        f"{citizen_id} authorized that key for this consent (off chain)",
        f"grant recorded on chain in block {rcpt['chain']['block']}",
        f"log entry {rcpt['log']['index']} is included in the signed checkpoint of size {rcpt['anchor']['size']}",
        f"checkpoint anchored on chain in block {rcpt['anchor']['block']}",
    ]
    assert receipt.verify(rcpt, registry_for, citizen=citizen_id, vkey=rcpt["log"]["vkey"]).status == "active"


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


def _resigned(r, chain_id=None):
    """The grant signed again by a fresh per-consent key that a fresh citizen authorized
    (optionally for another chain): every signature holds, but the chain knows another key."""
    g, c = r["grant"], r["chain"]
    if chain_id is not None:
        c["chain_id"] = chain_id
    key, citizen_seed = Account.create(), os.urandom(32)
    message = eip712.grant_message(bytes.fromhex(g["consent_id"][2:]), bytes.fromhex(g["commitment"][2:]), g["expires_at"])
    g["signature"] = "0x" + eip712.sign(key, "Grant", message, c["chain_id"], c["contract"]).hex()
    g["signer"] = key.address
    citizen = citizen_key_id(bytes(SigningKey(citizen_seed).verify_key))
    g["authorization"] = consent_binding.authorize(citizen, citizen_seed, g["consent_id"], key.address, g["commitment"], r["record"]["controller"]["id"])


def _signed_by_another_key(r):
    g, c = r["grant"], r["chain"]
    message = eip712.grant_message(bytes.fromhex(g["consent_id"][2:]), bytes.fromhex(g["commitment"][2:]), g["expires_at"])
    g["signature"] = "0x" + eip712.sign(Account.create(), "Grant", message, c["chain_id"], c["contract"]).hex()


ADDRESS = "0x[0-9a-fA-F]{40}"
NO_SUCH_TX = "the chain has no transaction 0x(ab){32} \\(TransactionNotFound\\)"
DIFFERENT_ENTRY = "log entry does not describe this grant"
NOT_ANCHORED = "checkpoint is not the anchored one"
NOT_AUTHORIZED = "the citizen's authorization does not verify for consent 0x[0-9a-f]{64} and key " + ADDRESS

# name: (tamper, the failing check, its message as a regular expression)
TAMPERS = {
    "salt": (lambda r: r.update(salt="0x" + "00" * 32), "commitment", re.escape("H(salt || record) differs from the commitment")),
    "record field": (lambda r: r["record"]["purposes"].append("dpv:Marketing"), "commitment", re.escape("H(salt || record) differs from the commitment")),
    "invalid record": (lambda r: r["record"].update(jurisdiction="Sweden"), "record", "jurisdiction: 'Sweden' does not match .*"),
    "record of another consent": (lambda r: r["record"].update(record_id="0x" + "cd" * 32), "record", "record_id differs from the consent id"),
    "signed expiry": (lambda r: r["grant"].update(expires_at=r["grant"]["expires_at"] + 1), "record", "expires_at differs from the signed expiry"),
    "signature by another key": (_signed_by_another_key, "signature", f"Grant signature is by {ADDRESS}, not {ADDRESS}"),
    "garbled signature": (lambda r: r["grant"].update(signature="0x" + "00" * 65), "signature", "unreadable signature \\(.+\\)"),
    "another key, authorized by another citizen": (_resigned, "chain", "grant transaction did not record this consent"),
    "another chain": (lambda r: _resigned(r, chain_id=5), "chain", "node is chain [0-9]+, receipt is for 5"),
    "chain tx": (lambda r: r["chain"].update(tx=r["anchor"]["tx"]), "chain", "grant transaction failed or is in another block"),
    "chain block": (lambda r: r["chain"].update(block=r["chain"]["block"] + 1), "chain", "grant transaction failed or is in another block"),
    "log entry": (lambda r: r["log"].update(entry=base64.b64encode(base64.b64decode(r["log"]["entry"]).replace(b'"block":', b'"block":1')).decode()), "log entry", DIFFERENT_ENTRY),
    "unreadable log entry": (lambda r: r["log"].update(entry=base64.b64encode(b"[1, 2]").decode()), "log entry", "entry has no known type"),
    "log entry not JSON": (lambda r: r["log"].update(entry=base64.b64encode(b"{").decode()), "log entry", "entry is not JSON"),
    "log index": (lambda r: r["log"].update(index=r["log"]["index"] + 1), "inclusion", "proof is for another log index"),
    "checkpoint signature": (_checkpoint_sig_flipped, "checkpoint", "invalid signature by .+"),
    "log origin": (lambda r: r["log"].update(origin="another.example/log"), "checkpoint", ".+"),
    "foreign log key": (lambda r: r["log"].update(vkey=Signer(r["log"]["origin"], b"\x07" * 32).verifier.vkey), "checkpoint", "note has no signature by a trusted key"),
    "anchor size": (lambda r: r["anchor"].update(size=r["anchor"]["size"] + 1), "anchor", NOT_ANCHORED),
    "anchor root": (lambda r: r["anchor"].update(root="0x" + "00" * 32), "anchor", NOT_ANCHORED),
    "log entry time": (_entry_time_changed, "inclusion", "inclusion proof for leaf [0-9]+ does not lead to the root of size [0-9]+"),
    "log entry signer": (_entry_signer_changed, "log entry", DIFFERENT_ENTRY),
    "inclusion path": (_proof_path_flipped, "inclusion", "inclusion proof for leaf [0-9]+ does not lead to the root of size [0-9]+"),
    "another anchor's index": (lambda r: r["anchor"].update(index=r["anchor"]["index"] - 1), "anchor", "registry holds another anchor at that index"),
    "anchor index out of range": (lambda r: r["anchor"].update(index=10**6), "anchor", "the registry holds no anchor number 1000000"),
    "anchor tx without the anchor": (lambda r: r["anchor"].update(tx=r["chain"]["tx"], block=r["chain"]["block"]), "anchor", "anchor transaction did not anchor this checkpoint"),
    "anchor block": (lambda r: r["anchor"].update(block=r["anchor"]["block"] + 1), "anchor", "anchor transaction is in block [0-9]+, not [0-9]+"),
    "unknown anchor tx": (lambda r: r["anchor"].update(tx="0x" + "ab" * 32), "anchor", NO_SUCH_TX),
    "unknown grant tx": (lambda r: r["chain"].update(tx="0x" + "ab" * 32), "chain", NO_SUCH_TX),
    "no authorization": (lambda r: r["grant"].pop("authorization"), "authorization", re.escape("grant.authorization: is required")),
    "authorization signature": (lambda r: r["grant"]["authorization"].update(signature=flip_b64(r["grant"]["authorization"]["signature"])), "authorization", NOT_AUTHORIZED),
    "authorization by another citizen": (lambda r: r["grant"]["authorization"].update(citizen="citizen:" + "ab" * 32), "authorization", NOT_AUTHORIZED),
    "authorization for another service": (lambda r: r["grant"]["authorization"].update(service="job-board"), "authorization", "the consent is authorized for 'job-board', not for 'cv-builder'"),
    "type": (lambda r: r.update(type="something-else"), "format", re.escape("type: 'mydata-consent-receipt/1' was expected")),
    "hex without 0x": (lambda r: r.update(salt=r["salt"][2:]), "format", "salt: '[0-9a-f]{64}' does not match .*"),
    "missing part": (lambda r: r.pop("anchor"), "format", re.escape("anchor: is required")),
    "unknown field": (lambda r: r["log"].update(leaf=1), "format", re.escape("log.leaf: is not a known field")),
    "expiry before grant": (lambda r: r["record"].update(expires_at="2025-01-01T00:00:00Z"), "record", re.escape("expires_at: must be later than granted_at")),
    "no such day": (lambda r: r["record"].update(granted_at="2026-02-30T00:00:00Z"), "record", re.escape("granted_at: is not a valid UTC date-time")),
    "entry not base64": (lambda r: r["log"].update(entry="abc"), "format", "malformed receipt \\(Error\\(.*\\)\\)"),
    "anchor number as text": (lambda r: r["anchor"].update(index="2"), "format", re.escape("anchor.index: '2' is not of type 'integer'")),
}


@pytest.mark.parametrize("name", TAMPERS)
def test_each_tampered_part_is_named(issued, name):
    rcpt, registry_for = issued
    tamper, check, message = TAMPERS[name]
    tamper(rcpt)
    with pytest.raises(receipt.ReceiptError) as err, warnings.catch_warnings():
        warnings.simplefilter("error")  # another contract's or event's logs in a transaction are skipped, not warned of
        receipt.verify(rcpt, registry_for)
    assert err.value.check == check
    assert re.fullmatch(re.escape(f"{check}: ") + message, str(err.value)), str(err.value)


def test_a_pinned_log_key_must_match(issued):
    rcpt, registry_for = issued
    with pytest.raises(receipt.ReceiptError) as err:
        receipt.verify(rcpt, registry_for, vkey=Signer("x.example/log", b"\x01" * 32).verifier.vkey)
    assert str(err.value) == "checkpoint: receipt's log key differs from the pinned key"


def test_a_receipt_for_another_citizen_than_the_service_knows_fails_authorization(issued):
    rcpt, registry_for = issued
    with pytest.raises(receipt.ReceiptError, match="not by citizen:") as err:
        receipt.verify(rcpt, registry_for, citizen="citizen:" + "cd" * 32)
    assert err.value.check == "authorization"


# A node that lies about one answer: what verification catches that an honest chain cannot show.


def _consent_word(chain, word, value):
    """getConsent's answer with one word of the Consent struct replaced (commitment, expiresAt,
    grantedAt, revokedAt, signer)."""
    selector = "0x" + chain.registry.contract.get_function_by_name("getConsent")(b"\0" * 32)._encode_transaction_data()[2:10]

    def change(result):
        words = [result[2 + 64 * i : 2 + 64 * (i + 1)] for i in range(5)]
        words[word] = value
        return "0x" + "".join(words)

    return chain.lying("eth_call", lambda params: params[0]["data"].startswith(selector), change)


def test_a_node_holding_another_commitment_under_the_consent_id_fails_chain(recorded_chain):
    liar = _consent_word(recorded_chain, 0, "00" * 32)
    with pytest.raises(receipt.ReceiptError) as err:
        receipt.verify(copy.deepcopy(recorded_chain.receipt), liar.registry_for)
    assert str(err.value) == "chain: registry holds another consent under this id"


def test_a_node_holding_another_signer_under_the_consent_id_fails_chain(recorded_chain):
    liar = _consent_word(recorded_chain, 4, "00" * 32)
    with pytest.raises(receipt.ReceiptError, match="registry holds another consent under this id"):
        receipt.verify(copy.deepcopy(recorded_chain.receipt), liar.registry_for)


def test_a_revoked_consent_verifies_with_status_revoked(recorded_chain):
    liar = _consent_word(recorded_chain, 3, f"{1:064x}")
    assert receipt.verify(copy.deepcopy(recorded_chain.receipt), liar.registry_for).status == "revoked"


@pytest.mark.parametrize(("offset", "status"), [(-1, "active"), (0, "expired"), (1, "expired")])
def test_a_consent_is_expired_from_the_second_of_its_expiry(recorded_chain, offset, status):
    expires_at = recorded_chain.receipt["grant"]["expires_at"]
    liar = recorded_chain.lying("eth_getBlockByNumber", lambda params: params[0] == "latest", lambda block: {**block, "timestamp": hex(expires_at + offset)})
    assert receipt.verify(copy.deepcopy(recorded_chain.receipt), liar.registry_for).status == status


def test_an_anchor_event_of_the_same_size_but_another_root_fails_anchor(recorded_chain):
    rcpt = recorded_chain.receipt

    def other_root(tx_receipt):
        logs = [{**log, "data": log["data"][:-2] + ("00" if log["data"][-2:] != "00" else "01")} for log in tx_receipt["logs"]]
        return {**tx_receipt, "logs": logs}

    liar = recorded_chain.lying("eth_getTransactionReceipt", lambda params: params[0] == rcpt["anchor"]["tx"], other_root)
    with pytest.raises(receipt.ReceiptError) as err:
        receipt.verify(copy.deepcopy(rcpt), liar.registry_for)
    assert str(err.value) == "anchor: anchor transaction did not anchor this checkpoint"



# Witnesses: the recorded receipt's checkpoint carries no cosignature; these tests add one.

W1, W2 = (Cosigner(f"witness.example/w{i}", bytes([i]) * 32) for i in (1, 2))


def _cosigned(rcpt, *cosigners):
    """The receipt with cosignatures added to its checkpoint: further signature lines, so
    the log's own signature still verifies."""
    text, _ = note.split(TlogProof.parse(rcpt["log"]["tlog_proof"]).checkpoint)
    rcpt["log"]["tlog_proof"] += "".join(c.cosign(text, 1_800_000_000) for c in cosigners)
    return rcpt


def test_a_checkpoint_cosigned_by_enough_witnesses_passes_and_names_them(issued):
    rcpt, registry_for = issued
    report = receipt.verify(_cosigned(rcpt, W1, W2), registry_for, witnesses=WitnessPolicy(2, (W1.key, W2.key)))
    assert report.checks[5] == "checkpoint cosigned by witness.example/w1, witness.example/w2" and len(report.checks) == 7
    assert receipt.verify(rcpt, registry_for, witnesses=WitnessPolicy(0, ())).checks[5] == "checkpoint cosigned by no witness (none required)"


def test_a_checkpoint_without_enough_cosignatures_fails_witnesses(issued):
    rcpt, registry_for = issued
    with pytest.raises(receipt.ReceiptError) as err:
        receipt.verify(_cosigned(rcpt, W1), registry_for, witnesses=WitnessPolicy(2, (W1.key, W2.key)))
    assert str(err.value) == "witnesses: checkpoint cosigned by 1 of the trusted witnesses (witness.example/w1), 2 required"
    assert receipt.verify(rcpt, registry_for).status == "active"  # no policy given: cosignatures are not asked for


def test_the_specification_names_every_field_of_the_schema():
    """ledger/schemas/consent-receipt.md documents each field consent-receipt.schema.json has."""
    import json
    from pathlib import Path

    folder = Path(__file__).parent.parent / "ledger" / "schemas"
    schema = json.loads((folder / "consent-receipt.schema.json").read_text())
    spec = (folder / "consent-receipt.md").read_text()
    fields = []
    for name, part in schema["properties"].items():
        inner = part.get("properties", {})
        fields += [f"{name}.{sub}" for sub in inner] if inner and name != "record" else [name]
    missing = [f for f in fields if f"`{f}`" not in spec]
    assert not missing, missing
