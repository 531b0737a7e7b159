"""ConsentRegistry on both chains (embedded py-evm and Hardhat): every rule and every refusal."""

import os

import pytest
from eth_account import Account

from ledger import eip712
from ledger.chain import ContractReverted
from ledger.registry import SignedGrant

from .helpers import revoke_signature, signed_grant


def reverts(name):
    return pytest.raises(ContractReverted, match=f"^{name}\\(")


def test_grant_stores_commitment_expiry_and_signer(registry):
    grant, _, _, account = signed_grant(registry)
    receipt = registry.grant(grant)
    c = registry.consent(grant.consent_id)
    assert (c.commitment, c.expires_at, c.signer, c.revoked_at) == (grant.commitment, grant.expires_at, account.address, 0)
    assert registry.is_active(grant.consent_id)
    [ev] = registry.events(receipt["blockNumber"], receipt["blockNumber"])
    assert ev.name == "ConsentGranted" and ev.args["consentId"] == grant.consent_id


def test_duplicate_id_is_refused(registry):
    grant, *_ = signed_grant(registry)
    registry.grant(grant)
    with reverts("ConsentExists"):
        registry.grant(grant)


def test_grant_with_a_tampered_signature_records_another_signer_or_fails(registry):
    grant, _, _, account = signed_grant(registry)
    forged = SignedGrant(grant.consent_id, os.urandom(32), grant.expires_at, grant.signature)
    registry.grant(forged)  # recovers to some unrelated key: the citizen's key never signed it
    assert registry.consent(grant.consent_id).signer != account.address
    garbage, *_ = signed_grant(registry)
    with reverts("InvalidSignature"):
        registry.grant(SignedGrant(garbage.consent_id, garbage.commitment, garbage.expires_at, b"\x00" * 65))


def test_grant_that_already_expired_is_refused(registry):
    grant, *_ = signed_grant(registry, expires_in=-10)
    with reverts("AlreadyExpired"):
        registry.grant(grant)


def test_batch_grants_all_or_none(registry):
    grants = [signed_grant(registry)[0] for _ in range(5)]
    registry.grant_batch(grants)
    assert all(registry.is_active(g.consent_id) for g in grants)
    fresh = signed_grant(registry)[0]
    with reverts("ConsentExists"):
        registry.grant_batch([fresh, grants[0]])
    assert not registry.consent(fresh.consent_id).exists
    with reverts("EmptyBatch"):
        registry.grant_batch([])


def test_revoke_directly_by_the_signer_only_and_only_once(registry):
    grant, _, _, account = signed_grant(registry)
    registry.grant(grant)
    stranger = Account.create()
    registry.client.fund_from_dev_account(stranger.address, 10**16)
    registry.client.fund_from_dev_account(account.address, 10**16)
    with reverts("NotSigner"):
        registry.revoke(grant.consent_id, stranger)
    registry.revoke(grant.consent_id, account)
    assert not registry.is_active(grant.consent_id)
    with reverts("AlreadyRevoked"):
        registry.revoke(grant.consent_id, account)


def test_revoke_relayed_with_the_signers_signature(registry):
    grant, _, _, account = signed_grant(registry)
    registry.grant(grant)
    wrong = revoke_signature(registry, Account.create(), grant.consent_id)
    with reverts("NotSigner"):
        registry.revoke_by_sig(grant.consent_id, wrong)
    sig = revoke_signature(registry, account, grant.consent_id)
    registry.revoke_by_sig(grant.consent_id, sig)
    assert registry.consent(grant.consent_id).revoked_at > 0
    with reverts("AlreadyRevoked"):
        registry.revoke_by_sig(grant.consent_id, sig)
    with reverts("UnknownConsent"):
        registry.revoke_by_sig(os.urandom(32), sig)


def test_consent_expires_by_chain_time(registry, node):
    grant, *_ = signed_grant(registry, expires_in=120)
    registry.grant(grant)
    assert registry.is_active(grant.consent_id)
    node.increase_time(121)
    assert not registry.is_active(grant.consent_id)


def test_anchor_rules(registry, operator_key):
    registry.anchor(10, b"\x01" * 32)
    with reverts("AnchorSizeDecreased"):
        registry.anchor(9, b"\x02" * 32)
    with reverts("AnchorRootConflict"):
        registry.anchor(10, b"\x02" * 32)
    with reverts("AnchorUnchanged"):
        registry.anchor(10, b"\x01" * 32)
    stranger = Account.create()
    registry.client.fund_from_dev_account(stranger.address, 10**16)
    with reverts("NotAnchorer"):
        registry.anchor(11, b"\x03" * 32, stranger)
    registry.anchor(12, b"\x04" * 32)
    assert [(a.index, a.size, a.root) for a in registry.anchors()] == [(0, 10, b"\x01" * 32), (1, 12, b"\x04" * 32)]


def test_domain_separator_matches_the_published_eip712_domain(registry):
    from eth_abi import encode
    from eth_utils import keccak

    domain = eip712.typed_data("Grant", {}, registry.chain_id, registry.address)["domain"]
    expected = keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [
                keccak(text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak(text=domain["name"]),
                keccak(text=domain["version"]),
                registry.chain_id,
                registry.address,
            ],
        )
    )
    assert registry.contract.functions.domainSeparator().call() == expected


def test_calls_from_an_account_with_no_balance_work_and_reverts_carry_their_data(registry, node):
    """What ethers.js and web3 rely on, from either node: eth_call from an empty account, and a
    revert's raw data (custom error selector and arguments) in the JSON-RPC error's `data`."""
    import requests

    from ledger.chain import decode_revert
    from ledger.contract import error_selectors

    empty = Account.create().address
    assert registry.client.w3.eth.get_balance(empty) == 0
    unknown = os.urandom(32)
    assert registry.contract.functions.isActive(unknown).call({"from": empty}) is False
    call = {"from": empty, "to": registry.address, "data": registry.contract.encode_abi("revoke", [unknown])}
    error = requests.post(node.url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": [call, "latest"]}, timeout=30).json()["error"]
    assert "data" in error, error
    data = error["data"] if isinstance(error["data"], str) else error["data"]["data"]  # geth: a hex string; older Hardhat: an object
    selector = next(s for s, item in error_selectors().items() if item["name"] == "UnknownConsent")
    assert data == "0x" + (selector + unknown).hex() or data.startswith("0x" + selector.hex()), error
    if node.kind == "embedded":  # answered exactly as geth does
        assert (error["code"], error["message"], data) == (3, "execution reverted", "0x" + (selector + unknown).hex())
    try:
        registry.contract.functions.revoke(unknown).call({"from": empty})
    except Exception as exc:  # noqa: BLE001 - whatever web3 raises must carry the data
        reverted = decode_revert(exc)
    assert str(reverted).startswith("UnknownConsent(")
