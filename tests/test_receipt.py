"""Consent receipts verify offline against the chain alone, and every tampered part is named."""

import base64
import copy
import json

import pytest

from ledger import receipt
from ledger.chain import ChainClient
from ledger.note import Signer
from ledger.registry import Registry
from ledger.wallet import Wallet

from .test_operator import grant_via_operator


@pytest.fixture
def issued(operator, tmp_path):
    rcpt = grant_via_operator(operator, Wallet.create(tmp_path / "w.json"))
    operator.close()  # from here on no operator is online
    client = ChainClient(operator.config.chain_url)
    return rcpt, (lambda chain_id, contract: Registry(client, contract))


def test_a_fresh_receipt_verifies_without_the_operator(issued):
    rcpt, registry_for = issued
    report = receipt.verify(json.loads(json.dumps(rcpt)), registry_for)
    assert report.status == "active" and len(report.checks) == 5


def flip_b64(value: str, at: int = 5) -> str:
    raw = bytearray(base64.b64decode(value))
    raw[at] ^= 1
    return base64.b64encode(bytes(raw)).decode()


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
    "anchor index": (lambda r: r["anchor"].update(size=r["anchor"]["size"] + 1), "anchor"),
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
