"""The committed ConsentRegistry artifact is exactly what the pinned solcjs produces."""

import json
import shutil
import subprocess

import pytest

from ledger.contract import artifact

from .conftest import ROOT


@pytest.mark.skipif(shutil.which("node") is None, reason="node is needed to run solcjs")
def test_recompiling_gives_byte_identical_artifact(tmp_path):
    out = tmp_path / "ConsentRegistry.json"
    subprocess.run(["node", "compile.js", str(out)], cwd=ROOT / "contracts", check=True, capture_output=True)
    assert out.read_bytes() == (ROOT / "contracts" / "build" / "ConsentRegistry.json").read_bytes()


def test_artifact_publishes_the_eip712_domain_and_types():
    art = artifact()
    assert art["compiler"]["version"].startswith("0.8.37+")
    assert art["eip712"]["domain"] == {"name": "MyData ConsentRegistry", "version": "1"}
    assert [f["name"] for f in art["eip712"]["types"]["Grant"]] == ["consentId", "commitment", "expiresAt"]
    documented = json.dumps(art["userdoc"]) + json.dumps(art["devdoc"])
    for item in art["abi"]:
        if item["type"] == "function" and item["stateMutability"] not in ("view", "pure"):
            assert item["name"] in documented, f"{item['name']} lacks NatSpec"
