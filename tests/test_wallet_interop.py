"""A standard wallet library (ethers.js v6 signTypedData) signs grants and revocations the
registry accepts, using only the EIP-712 typed data the project publishes."""

import json
import subprocess

from ledger import eip712

from .conftest import ROOT
from .helpers import signed_grant


def ethers_sign(private_key: bytes, typed: dict) -> bytes:
    typed = json.loads(json.dumps(typed, default=lambda b: "0x" + b.hex()))
    out = subprocess.run(
        ["node", "sign_typed_data.js"],
        cwd=ROOT / "contracts",
        input=json.dumps({"privateKey": "0x" + private_key.hex(), "typedData": typed}),
        capture_output=True, text=True, check=True,
    )
    return bytes.fromhex(out.stdout.strip()[2:])


def test_grant_and_revocation_signed_by_ethers_are_accepted(registry):
    grant, _, _, account = signed_grant(registry)
    message = eip712.grant_message(grant.consent_id, grant.commitment, grant.expires_at)
    typed = eip712.typed_data("Grant", message, registry.chain_id, registry.address)
    by_ethers = ethers_sign(bytes(account.key), typed)
    assert by_ethers == grant.signature  # deterministic signatures: byte-identical to ours
    registry.grant(grant.__class__(grant.consent_id, grant.commitment, grant.expires_at, by_ethers))
    assert registry.consent(grant.consent_id).signer == account.address

    revoke = eip712.typed_data("Revoke", eip712.revoke_message(grant.consent_id), registry.chain_id, registry.address)
    registry.revoke_by_sig(grant.consent_id, ethers_sign(bytes(account.key), revoke))
    assert not registry.is_active(grant.consent_id)
