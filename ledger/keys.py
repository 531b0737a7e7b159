"""Citizen key material: one master seed from a recovery phrase, everything else derived.

The citizen's Ed25519 signing key and X25519 encryption key are derived from it, and
per-consent Ethereum keys are derived with HKDF from the master seed and the
consent id, so two consents of one citizen cannot be linked on chain, and the
citizen can always re-derive a consent's key to revoke it. Pseudonyms per
controller are derived the same way, so services cannot link a citizen either.
"""

from __future__ import annotations

import re

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from eth_account import Account
from eth_account.hdaccount.mnemonic import Mnemonic
from eth_account.signers.local import LocalAccount
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from .errors import MyDataError

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_SALT = b"mydata-consent-ledger/v1"


class PhraseError(MyDataError, ValueError):
    """A recovery phrase or seed is invalid."""

    problem_type = "invalid-phrase"


CITIZEN_KEY_ID = re.compile(r"^citizen:[0-9a-f]{64}$")


def citizen_key_id(public_key: bytes) -> str:
    """A citizen's self-certifying id towards the operator and the PDS."""
    return "citizen:" + public_key.hex()


def citizen_public_key(key_id: str) -> bytes | None:
    """The Ed25519 public key a citizen key id names (None if it is not one)."""
    return bytes.fromhex(key_id.split(":", 1)[1]) if CITIZEN_KEY_ID.match(key_id) else None


def derive(seed: bytes, purpose: bytes, length: int = 32) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=_SALT, info=purpose).derive(seed)


class CitizenKeys:
    """The citizen's master seed and the keys derived from it."""

    def __init__(self, seed: bytes):
        if len(seed) < 32:
            raise PhraseError("master seed must be at least 32 bytes")
        self.seed = seed

    @staticmethod
    def new_phrase() -> str:
        return Mnemonic().generate(24)

    @classmethod
    def from_phrase(cls, phrase: str) -> CitizenKeys:
        words = " ".join(phrase.split())
        if not Mnemonic().is_mnemonic_valid(words):
            raise PhraseError("not a valid BIP-39 recovery phrase")
        return cls(Mnemonic.to_seed(words))

    def consent_account(self, consent_id: bytes) -> LocalAccount:
        """The Ethereum key that signs (and can revoke) one consent."""
        counter = 0
        while True:
            k = int.from_bytes(derive(self.seed, b"consent-key" + consent_id + bytes([counter])), "big")
            if 0 < k < SECP256K1_N:
                account: LocalAccount = Account.from_key(k.to_bytes(32, "big"))
                return account
            counter += 1  # practically unreachable: probability ~2^-128

    def request_seed(self) -> bytes:
        """Ed25519 seed that signs the citizen's requests and CV versions."""
        return derive(self.seed, b"ed25519-signing-key")

    def citizen_id(self) -> str:
        return citizen_key_id(bytes(SigningKey(self.request_seed()).verify_key))

    def encryption_key(self) -> PrivateKey:
        """X25519 key that receives the citizen's wrapped data keys."""
        return PrivateKey(derive(self.seed, b"x25519-encryption-key"))

    def pseudonym(self, controller_id: str) -> str:
        """The subject id this citizen uses towards one controller."""
        return derive(self.seed, b"subject-pseudonym" + controller_id.encode()).hex()
