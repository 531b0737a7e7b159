"""The operator has each anchored checkpoint cosigned by its witnesses (real witness servers
on loopback), and receipts, the auditor and `mydata verify-receipt` hold it to a policy of
"k of n named witnesses"."""

from __future__ import annotations

import json
import threading

import pytest

from httpkit.serving import loopback_server
from ledger import receipt
from ledger.audit import run_audit
from ledger.registry import Registry
from ledger.tlog.cosignature import WitnessPolicy
from ledger.wallet import Wallet
from witness.app import create_app as create_witness
from witness.keys import cosigner

from .conftest import LiveOperator
from .helpers import PASSPHRASE, grant_via_operator, mydata

pytestmark = pytest.mark.parametrize("node", ["embedded"], indirect=True)


class WitnessServer:
    def __init__(self, data_dir, name, log_vkey):
        self.cosigner = cosigner(data_dir, name)
        self.server = loopback_server(create_witness(data_dir, self.cosigner, [log_vkey]))
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    @property
    def spec(self) -> str:
        return f"{self.url}={self.cosigner.key.vkey}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def witnessed(node, tmp_path):
    """An operator with two witnesses; the log key is the operator's, known once it exists."""
    from consent_operator.keystore import provision

    op_dir = tmp_path / "operator"
    vkey = provision(op_dir, "mydata.localhost/consent-log")["log verifier key"]
    witnesses = [WitnessServer(tmp_path / f"w{i}", f"witness.example/w{i}", vkey) for i in (1, 2)]
    op = LiveOperator(node, op_dir, witnesses=tuple(w.spec for w in witnesses))
    yield op, witnesses
    op.close()
    for w in witnesses:
        w.stop()


def _policy(k, witnesses):
    return WitnessPolicy(k, tuple(w.cosigner.key for w in witnesses))


def _registry_for(op):
    return lambda chain_id, contract: Registry(op.runtime.client, contract)


def test_a_receipt_carries_the_cosignatures_of_both_witnesses(witnessed, tmp_path):
    op, witnesses = witnessed
    rcpt = grant_via_operator(op, Wallet.create(tmp_path / "w.json", PASSPHRASE))
    report = receipt.verify(rcpt, _registry_for(op), witnesses=_policy(2, witnesses))
    assert "checkpoint cosigned by witness.example/w1, witness.example/w2" in report.checks
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(rcpt))
    args = ["verify-receipt", str(path), "--chain", op.config.chain_url, "--witness-quorum", "2"]
    for w in witnesses:
        args += ["--witness", w.cosigner.key.vkey]
    assert "cosigned by witness.example/w1, witness.example/w2" in mydata(*args).stdout


def test_with_a_witness_down_the_checkpoint_meets_one_of_two_but_not_two_of_two(witnessed, tmp_path):
    op, witnesses = witnessed
    witnesses[1].stop()
    rcpt = grant_via_operator(op, Wallet.create(tmp_path / "w.json", PASSPHRASE))
    assert receipt.verify(rcpt, _registry_for(op), witnesses=_policy(1, witnesses)).status == "active"
    with pytest.raises(receipt.ReceiptError) as err:
        receipt.verify(rcpt, _registry_for(op), witnesses=_policy(2, witnesses))
    assert err.value.check == "witnesses" and "cosigned by 1 of the trusted witnesses" in str(err.value)
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(rcpt))
    refused = mydata("verify-receipt", str(path), "--chain", op.config.chain_url, "--witness-quorum", "2",
                     "--witness", witnesses[0].cosigner.key.vkey, "--witness", witnesses[1].cosigner.key.vkey, check=False)
    assert refused.returncode == 1 and "witnesses: checkpoint cosigned by 1" in refused.stderr and "Traceback" not in refused.stderr


def test_each_later_checkpoint_is_cosigned_from_the_size_the_witness_holds(witnessed, tmp_path):
    op, witnesses = witnessed
    wallet = Wallet.create(tmp_path / "w.json", PASSPHRASE)
    sizes = [grant_via_operator(op, wallet)["anchor"]["size"] for _ in range(3)]
    assert sizes == sorted(set(sizes))
    for size in sizes:
        assert _policy(2, witnesses).check(op.runtime.log.checkpoint_at(size))


def test_the_auditor_names_the_witnesses_of_the_latest_anchored_checkpoint(witnessed, tmp_path):
    op, witnesses = witnessed
    grant_via_operator(op, Wallet.create(tmp_path / "w.json", PASSPHRASE))
    report = run_audit(op.url, _registry_for(op), tmp_path / "audit.json", witnesses=_policy(2, witnesses))
    assert report.cosigners == ["witness.example/w1", "witness.example/w2"]


def test_the_auditor_view_names_each_witness_and_whether_it_cosigned(witnessed, tmp_path):
    from web.auditor_app import create_app as create_auditor

    op, witnesses = witnessed
    witnesses[1].stop()
    grant_via_operator(op, Wallet.create(tmp_path / "w.json", PASSPHRASE))
    page = create_auditor(op.url, op.config.chain_url, tmp_path / "view.json", _policy(1, witnesses)).test_client().get("/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "needs 1 of these 2" in html
    assert '<span class="badge ok">✓ cosigned</span> witness.example/w1' in html
    assert '<span class="badge bad">✗ no cosignature</span> witness.example/w2' in html
    strict = create_auditor(op.url, op.config.chain_url, tmp_path / "strict.json", _policy(2, witnesses)).test_client().get("/")
    assert strict.status_code == 409 and "cosigned by 1 of the trusted witnesses" in strict.get_data(as_text=True)



def test_the_operator_serves_each_anchored_checkpoint_with_its_cosignatures(witnessed, tmp_path):
    import requests

    op, witnesses = witnessed
    size = grant_via_operator(op, Wallet.create(tmp_path / "w.json", PASSPHRASE))["anchor"]["size"]
    served = requests.get(f"{op.url}/log/checkpoints/{size}").text
    assert served == op.runtime.log.checkpoint_at(size) and _policy(2, witnesses).check(served)
    for beyond in (size + 1000, 2**70):
        missing = requests.get(f"{op.url}/log/checkpoints/{beyond}")
        assert missing.status_code == 404 and missing.json()["type"].endswith("checkpoint-not-found")
