"""Builders shared by the chain-facing tests."""

from __future__ import annotations

import os
from datetime import timedelta

from ledger import eip712, record
from ledger.keys import CitizenKeys
from ledger.registry import Registry, SignedGrant


def signed_grant(registry: Registry, keys: CitizenKeys | None = None, expires_in: int = 3600, now: int | None = None):
    """A fresh record, salt and EIP-712-signed grant; returns (grant, record, salt, account)."""
    keys = keys or CitizenKeys(os.urandom(32))
    rec = record.new_record(
        subject=keys.pseudonym("cv-builder"),
        controller_id="cv-builder",
        controller_name="CV Builder",
        purposes=["dpv:ServiceProvision"],
        data_areas=[{"area": "work", "access": "read"}],
        notice_url="https://cv.example/notice",
        notice_text=b"notice",
        duration=timedelta(days=1),
    )
    cid = bytes.fromhex(rec["record_id"][2:])
    salt = record.new_salt()
    commitment = record.commitment(rec, salt)
    chain_now = now or registry.client.w3.eth.get_block("latest")["timestamp"]
    expires = chain_now + expires_in
    account = keys.consent_account(cid)
    sig = eip712.sign(account, "Grant", eip712.grant_message(cid, commitment, expires), registry.chain_id, registry.address)
    return SignedGrant(cid, commitment, expires, sig), rec, salt, account


def revoke_signature(registry: Registry, account, consent_id: bytes) -> bytes:
    return eip712.sign(account, "Revoke", eip712.revoke_message(consent_id), registry.chain_id, registry.address)
