"""Revoking without the operator: the consent key signs, someone pays the gas, and only a
development chain's own accounts are ever spent without being asked."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from eth_account import Account

from ledger import citizen
from ledger.chain import ChainError
from ledger.wallet import Wallet

from .helpers import PASSPHRASE, signed_grant


@pytest.fixture
def granted(registry, operator_key, tmp_path):
    wallet = Wallet.create(tmp_path / "w.json", PASSPHRASE)
    grant = signed_grant(registry, wallet.keys)[0]
    registry.grant(grant, operator_key)
    return wallet, "0x" + grant.consent_id.hex()


def test_a_gas_payer_submits_the_consent_keys_signed_revocation(registry, granted):
    wallet, cid = granted
    payer = Account.create()
    assert registry.client.fund_from_dev_account(payer.address)
    citizen.revoke_on_chain(wallet, registry, cid, payer)
    assert registry.consent(bytes.fromhex(cid[2:])).revoked_at > 0


def test_the_signed_revocation_is_what_any_relayer_submits(registry, granted, operator_key):
    wallet, cid = granted
    signed = citizen.signed_revocation(wallet, registry.chain_id, registry.address, cid)
    assert (signed["consent_id"], signed["chain_id"], signed["contract"]) == (cid, registry.chain_id, registry.address)
    registry.revoke_by_sig(bytes.fromhex(cid[2:]), bytes.fromhex(signed["signature"][2:]), operator_key)
    assert not registry.is_active(bytes.fromhex(cid[2:]))


def test_on_a_real_chain_no_development_account_pays(tmp_path):
    wallet = Wallet.create(tmp_path / "w.json", PASSPHRASE)
    mainnet = SimpleNamespace(chain_id=1, client=SimpleNamespace(fund_from_dev_account=lambda *a, **k: pytest.fail("spent a dev account")))
    with pytest.raises(ChainError, match="chain 1 is not a development chain"):
        citizen.revoke_on_chain(wallet, mainnet, "0x" + "ab" * 32)
