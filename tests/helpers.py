"""Builders shared by the chain-facing tests."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from devchain.nodes import ROOT
from ledger import citizen, consent_binding, eip712, record
from ledger.keys import CitizenKeys
from ledger.registry import Registry, SignedGrant

PASSPHRASE = "correct horse battery staple"  # the test citizens' wallet passphrase


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


def relay_item(grant: SignedGrant, account, keys: CitizenKeys | None = None, service: str = "cv-builder") -> dict:
    """A grant as POST /ledger/grants takes it, its per-consent key authorized by a citizen."""
    keys = keys or CitizenKeys(os.urandom(32))
    cid, commitment = "0x" + grant.consent_id.hex(), "0x" + grant.commitment.hex()
    return {
        "consent_id": cid, "commitment": commitment, "expires_at": grant.expires_at, "signature": "0x" + grant.signature.hex(),
        "authorization": consent_binding.authorize(keys.citizen_id(), keys.request_seed(), cid, account.address, commitment, service),
    }


def revoke_signature(registry: Registry, account, consent_id: bytes) -> bytes:
    return eip712.sign(account, "Revoke", eip712.revoke_message(consent_id), registry.chain_id, registry.address)


def make_record(**overrides) -> dict:
    """A consent record of CV Builder AB reading `work` and writing `certificates`."""
    rec = record.new_record(
        subject="ab" * 32,
        controller_id="cv-builder",
        controller_name="CV Builder AB",
        purposes=["dpv:ServiceProvision"],
        data_areas=[{"area": "work", "access": "read"}, {"area": "certificates", "access": "write"}],
        notice_url="https://cv.example/notice",
        notice_text=b"We read your work history to build your CV.",
        duration=timedelta(days=30),
        now=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    rec.update(overrides)
    return rec


def grant_via_operator(operator, wallet, **kw):
    """The citizen's wallet signs a fresh record and the operator relays it; returns the receipt."""
    rec = make_record(record_id="0x" + os.urandom(32).hex(), **kw)
    rec["granted_at"], rec["expires_at"] = "2026-01-01T00:00:00Z", "2099-01-01T00:00:00Z"
    rec["subject"] = wallet.keys.pseudonym(rec["controller"]["id"])
    return citizen.grant(wallet, citizen.OperatorClient(operator.url), rec)


def mydata(*args, check=True, **kw) -> subprocess.CompletedProcess:
    """Run the `mydata` command line in a subprocess (asserting exit 0 unless check=False)."""
    proc = subprocess.run([sys.executable, "-m", "mydata", *args], cwd=ROOT, capture_output=True, text=True, timeout=300, **kw)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc
