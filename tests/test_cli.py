"""The `mydata` command line across real processes: the quick-start system and the citizen's tools."""

import hashlib
import json
import os
import subprocess
import sys
import time

import pytest
import requests

from devchain.nodes import wait_for_http
from ledger.wallet import Wallet

from .conftest import ROOT, free_port
from .helpers import PASSPHRASE, mydata


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    """`mydata up` on free loopback ports with its own data directory."""
    data = tmp_path_factory.mktemp("system")
    chain_port, operator_port, pds_port = free_port(), free_port(), free_port()
    log = open(data / "up.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mydata", "up", "--data-dir", str(data / "var"), "--chain-port", str(chain_port), "--operator-port", str(operator_port), "--pds-port", str(pds_port)],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    operator = f"http://127.0.0.1:{operator_port}"
    try:
        wait_for_http(operator + "/ledger/info", proc, timeout=120)
    except RuntimeError:
        pytest.fail((data / "up.log").read_text())
    env = {**os.environ, "MYDATA_OPERATOR": operator, "MYDATA_CHAIN": f"http://127.0.0.1:{chain_port}", "MYDATA_PDS": f"http://127.0.0.1:{pds_port}",
           "MYDATA_PASSPHRASE": PASSPHRASE}
    yield env, data
    proc.terminate()
    proc.wait(timeout=30)
    assert b"Traceback" not in (data / "up.log").read_bytes()


def test_citizen_grants_verifies_revokes_and_auditor_agrees(system):
    env, data = system
    wallet, receipt = str(data / "wallet.json"), str(data / "receipt.json")
    phrase = mydata("citizen", "create", "--wallet", wallet, env=env).stdout.split()
    assert len(phrase) == 24
    notice = data / "notice.txt"
    notice.write_text("CV Builder reads your CV to render it.\n")
    out = mydata(
        "consent", "grant", "--wallet", wallet, "--controller-id", "cv-builder", "--controller-name", "CV Builder",
        "--purpose", "dpv:ServiceProvision", "--area", "work:read", "--area", "skills", "--days", "30",
        "--notice-url", "https://cv.example/notice", "--notice-file", str(notice), "--receipt-out", receipt, env=env,
    )
    consent_id = out.stdout.strip()
    assert json.loads(open(receipt).read())["record"]["notice"]["sha256"] == hashlib.sha256(notice.read_bytes()).hexdigest()
    assert "consent " + consent_id + " is active" in mydata("verify-receipt", receipt, env=env).stdout
    listed = mydata("consent", "list", "--wallet", wallet, env=env).stdout
    assert "CV Builder" in listed and "read work, read skills" in listed and "active" in listed
    revoked = mydata("consent", "revoke", "--wallet", wallet, "--direct", consent_id, env=env).stdout
    assert "revoked on chain" in revoked and "new data keys for no stored area" in revoked
    after = mydata("verify-receipt", receipt, env=env, check=False)
    assert after.returncode == 3 and "is revoked" in after.stdout and after.stderr.strip() == f"Error: consent {consent_id} is revoked: it no longer allows anything"
    assert "revoked" in mydata("consent", "list", "--wallet", wallet, env=env).stdout
    time.sleep(2.5)  # the operator follows new blocks every second
    audit = mydata("audit", "--state", str(data / "audit.json"), env=env)
    assert "OK" in audit.stdout and "consent.revoked" in audit.stdout

    restored = str(data / "restored.json")
    mydata("citizen", "restore", "--wallet", restored, input=" ".join(phrase), env={**env, "MYDATA_PASSPHRASE": "another passphrase"})
    assert " ".join(phrase) not in open(restored).read() and " ".join(phrase) not in open(wallet).read()  # sealed at rest
    assert Wallet.open(restored, "another passphrase").phrase == " ".join(phrase)


def test_errors_are_one_line_and_exit_non_zero(system, tmp_path):
    env, data = system
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    for args, words in [
        (["verify-receipt", str(bad)], "not JSON"),
        (["audit", "--operator", "http://127.0.0.1:9", "--state", str(tmp_path / "s.json")], "operator unreachable"),
        (["consent", "grant", "--wallet", str(tmp_path / "none.json"), "--controller-id", "x", "--controller-name", "X", "--purpose", "p", "--area", "work", "--notice-url", "https://x/n"], "cannot read wallet"),
        (["citizen", "restore", "--wallet", str(tmp_path / "w.json")], "recovery phrase"),
        (["citizen", "create", "--wallet", str(data / "wallet.json")], "a wallet already exists at"),
        (["consent", "list", "--wallet", str(data / "wallet.json"), "--chain", "http://127.0.0.1:9"], "cannot reach an Ethereum node at http://127.0.0.1:9"),
        (["consent", "revoke", "--wallet", str(data / "wallet.json"), "--operator", "http://127.0.0.1:9", "0x" + "ab" * 32], "no consent"),
        (["consent", "list", "--wallet", str(data / "wallet.json"), {"MYDATA_PASSPHRASE": "not the passphrase"}], "wrong passphrase"),
        (["citizen", "create", "--wallet", str(tmp_path / "short.json"), {"MYDATA_PASSPHRASE": "short"}], "a passphrase needs at least 8 characters"),
        (["operator", "--data-dir", str(tmp_path / "op"), "--requests-per-key", "lots"], "'lots' is not a rate such as 2000/second"),
    ]:
        given = args.pop() if isinstance(args[-1], dict) else {}
        proc = mydata(*args, check=False, env={**env, **given}, input="")
        assert proc.returncode == 1, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: ") and words in lines[0], proc.stderr


def test_an_unknown_area_or_an_unfetchable_notice_is_refused_in_one_line(system, tmp_path):
    env, _ = system
    wallet = str(tmp_path / "w.json")
    mydata("citizen", "create", "--wallet", wallet, env=env)
    common = ["consent", "grant", "--wallet", wallet, "--controller-id", "cv", "--controller-name", "CV", "--purpose", "p"]
    hobbies = mydata(*common, "--area", "hobbies:read", "--notice-url", "https://x/n", check=False, env=env)
    assert hobbies.returncode == 2 and "unknown area 'hobbies': the areas are" in hobbies.stderr and "work" in hobbies.stderr
    unreachable = mydata(*common, "--area", "work", "--notice-url", "http://127.0.0.1:9/notice", check=False, env=env)
    assert unreachable.returncode == 1 and unreachable.stderr.strip().splitlines() == [
        "Error: cannot fetch the notice at http://127.0.0.1:9/notice (ConnectionError): give its text with --notice-file"
    ]


def test_the_wallet_comes_from_mydata_wallet_and_an_unreachable_operator_is_said_plainly(system, tmp_path):
    env, _ = system
    env = {**env, "MYDATA_WALLET": str(tmp_path / "from-env.json")}
    mydata("citizen", "create", env=env)
    assert (tmp_path / "from-env.json").exists()
    notice = tmp_path / "n.txt"
    notice.write_text("n")
    down = mydata("consent", "grant", "--operator", "http://127.0.0.1:9", "--controller-id", "cv", "--controller-name", "CV", "--purpose", "p",
                  "--area", "work", "--notice-url", "https://x/n", "--notice-file", str(notice), check=False, env=env)
    assert down.returncode == 1 and down.stderr.strip() == "Error: operator unreachable: nothing answers at http://127.0.0.1:9 — is `mydata up` running?"


def test_a_bad_area_is_refused_naming_the_field(system, tmp_path):
    env, _ = system
    wallet = str(tmp_path / "w.json")
    mydata("citizen", "create", "--wallet", wallet, env=env)
    proc = mydata(
        "consent", "grant", "--wallet", wallet, "--controller-id", "cv", "--controller-name", "CV", "--purpose", "p",
        "--area", "work:delete", "--notice-url", "https://x/n", "--notice-file", __file__, check=False, env=env,
    )
    assert proc.returncode == 1 and "data_areas[0].access" in proc.stderr


def test_tampered_receipt_is_refused_by_the_cli(system):
    env, data = system
    receipt = json.loads((data / "receipt.json").read_text())
    receipt["salt"] = "0x" + "00" * 32
    (data / "tampered.json").write_text(json.dumps(receipt))
    proc = mydata("verify-receipt", str(data / "tampered.json"), check=False, env=env)
    assert proc.returncode == 1 and proc.stderr.startswith("Error: commitment:")


def test_contract_info_publishes_typed_data_for_wallets(system):
    env, data = system
    info = json.loads(mydata("contract", "info", "--deployment", str(data / "var" / "operator" / "deployment.json"), env=env).stdout)
    grant = info["eip712"]["Grant"]
    assert grant["primaryType"] == "Grant" and grant["domain"]["verifyingContract"] == info["address"]
    assert [f["name"] for f in grant["types"]["EIP712Domain"]] == ["name", "version", "chainId", "verifyingContract"]


def test_contract_deploy_is_idempotent_for_its_deployment_file(system):
    env, data = system
    operator_dir = str(data / "var" / "operator")
    before = (data / "var" / "operator" / "deployment.json").read_text()
    out = mydata("contract", "deploy", "--data-dir", operator_dir, env=env).stdout
    assert out.startswith("already deployed: ConsentRegistry at ")
    assert (data / "var" / "operator" / "deployment.json").read_text() == before


def test_up_also_serves_the_pds_for_the_operators_key(system):
    env, data = system
    pds = env["MYDATA_PDS"]
    wait_for_http(f"{pds}/openapi.json", timeout=30)  # the PDS starts beside the operator
    doc = requests.get(f"{pds}/openapi.json").json()
    assert doc["info"]["title"] == "MyData personal data store"
    refused = requests.get(f"{pds}/pds/v1/citizens/citizen:{'ab' * 32}/areas")
    assert refused.status_code == 401 and refused.json()["type"].endswith("/unsigned-request")
