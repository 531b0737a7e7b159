"""A secret sealed under a passphrase: libsodium's Argon2id (via PyNaCl `pwhash`) turns the
passphrase and a random salt into a 32-byte key, and XSalsa20-Poly1305 (`SecretBox`)
encrypts and authenticates the secret under it.

The seal is a JSON object that names its own cost (`opslimit`, `memlimit`), so a wallet
sealed today still opens after the default is raised. The default is libsodium's
"interactive" cost (2 passes over 64 MiB, about 0.1 s here), above OWASP's minimum for
Argon2id (2 passes over 19 MiB): the wallet is opened by every CLI command. A seal read
from disk is checked before any work: a cost above libsodium's "sensitive" limits (a
hostile file asking for terabytes) is refused, not attempted.
"""

from __future__ import annotations

import os
from typing import Any

import nacl.exceptions
import nacl.pwhash.argon2id as argon2id
from nacl.secret import SecretBox

from .errors import MyDataError

KDF = "argon2id13"
OPSLIMIT = argon2id.OPSLIMIT_INTERACTIVE
MEMLIMIT = argon2id.MEMLIMIT_INTERACTIVE
MIN_PASSPHRASE = 8


class SealError(MyDataError, ValueError):
    """A seal is malformed, or the passphrase is too short to seal with."""

    problem_type = "invalid-seal"


class WrongPassphrase(SealError):
    """The passphrase does not open the seal (or the sealed bytes were changed)."""

    problem_type = "wrong-passphrase"


def _key(passphrase: str, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    return argon2id.kdf(SecretBox.KEY_SIZE, passphrase.encode(), salt, opslimit=opslimit, memlimit=memlimit)


def seal(secret: bytes, passphrase: str) -> dict[str, Any]:
    """`secret` encrypted under `passphrase` (at least MIN_PASSPHRASE characters)."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise SealError(f"a passphrase needs at least {MIN_PASSPHRASE} characters")
    salt = os.urandom(argon2id.SALTBYTES)
    box = SecretBox(_key(passphrase, salt, OPSLIMIT, MEMLIMIT)).encrypt(secret)
    return {"kdf": KDF, "opslimit": OPSLIMIT, "memlimit": MEMLIMIT, "salt": salt.hex(), "box": bytes(box).hex()}


def unseal(sealed: Any, passphrase: str) -> bytes:
    """The secret in `sealed`; WrongPassphrase if `passphrase` is not the one it was sealed
    with, SealError if `sealed` is not a seal this module would have written."""
    try:
        kdf, opslimit, memlimit = sealed["kdf"], sealed["opslimit"], sealed["memlimit"]
        salt, box = bytes.fromhex(sealed["salt"]), bytes.fromhex(sealed["box"])
    except (TypeError, KeyError, ValueError) as exc:
        raise SealError(f"malformed seal ({type(exc).__name__})") from None
    if kdf != KDF:
        raise SealError(f"unknown key derivation {kdf!r}")
    if not all(type(n) is int for n in (opslimit, memlimit)) or not (
        argon2id.OPSLIMIT_MIN <= opslimit <= argon2id.OPSLIMIT_SENSITIVE and argon2id.MEMLIMIT_MIN <= memlimit <= argon2id.MEMLIMIT_SENSITIVE
    ):
        raise SealError("the seal asks for a key derivation cost outside libsodium's limits")
    if len(salt) != argon2id.SALTBYTES:
        raise SealError("malformed seal (salt length)")
    try:
        return SecretBox(_key(passphrase, salt, opslimit, memlimit)).decrypt(box)
    except nacl.exceptions.CryptoError:
        raise WrongPassphrase("wrong passphrase") from None
