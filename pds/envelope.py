"""Encrypted area documents: what the PDS stores and only key holders can read.

Each CV area is encrypted under its own random data key (XSalsa20-Poly1305 SecretBox).
The data key is wrapped with a sealed box for the citizen and for each service holding
an active read consent. Every version is signed by its writer (Ed25519) over the area,
the version number and the ciphertext's hash, so a reader can tell who wrote it and
that it was not moved to another area or version.
"""

from __future__ import annotations

import base64
import hashlib
import json

import rfc8785
from nacl.exceptions import BadSignatureError, CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox
from nacl.secret import SecretBox
from nacl.signing import SigningKey, VerifyKey
from nacl.utils import random

from ledger.errors import MyDataError


class EnvelopeError(MyDataError, ValueError):
    """An envelope does not decrypt or verify, or a wrapped key is not for this recipient."""

    problem_type = "invalid-envelope"


class StaleEnvelope(EnvelopeError):
    """An envelope is not the current version of the area asked for: sealed for another area
    or version than the store claims, or older than a version the reader has already seen
    (a rollback, or a dropped newest version)."""


def check_current(envelope: dict, area: str, version: int, seen: int) -> None:
    """Refuse `envelope` unless it was sealed for `area` as `version` (the version the store
    names as the latest) and `version` is no older than `seen`, the newest version of this
    area the reader has seen before. Call before trusting the document (the writer's
    signature covers area and version, see writer_of)."""
    if envelope.get("area") != area:
        raise StaleEnvelope(f"the store answered for {area} with an envelope sealed for {envelope.get('area')!r}")
    if envelope.get("version") != version:
        raise StaleEnvelope(f"the store names version {version} of {area}, but the envelope is sealed as version {envelope.get('version')!r}")
    if version < seen:
        raise StaleEnvelope(f"the store answered version {version} of {area}, but version {seen} was seen before (rolled back)")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def new_data_key() -> bytes:
    return random(SecretBox.KEY_SIZE)


def _signed_part(area: str, version: int, ciphertext: bytes, writer: bytes) -> bytes:
    return rfc8785.dumps(
        {"area": area, "version": version, "ciphertext_sha256": hashlib.sha256(ciphertext).hexdigest(), "writer": _b64(writer)}
    )


def seal(area: str, version: int, document, data_key: bytes, writer: SigningKey) -> dict:
    """Encrypt a JSON document as version `version` of `area`, signed by `writer`."""
    ciphertext = bytes(SecretBox(data_key).encrypt(rfc8785.dumps(document)))
    pub = bytes(writer.verify_key)
    return {
        "area": area,
        "version": version,
        "ciphertext": _b64(ciphertext),
        "writer": _b64(pub),
        "signature": _b64(writer.sign(_signed_part(area, version, ciphertext, pub)).signature),
    }


def writer_of(envelope: dict) -> bytes:
    """The writer's public key, after checking its signature over area, version and ciphertext."""
    try:
        ciphertext, writer = _unb64(envelope["ciphertext"]), _unb64(envelope["writer"])
        VerifyKey(writer).verify(
            _signed_part(envelope["area"], envelope["version"], ciphertext, writer), _unb64(envelope["signature"])
        )
    except (KeyError, ValueError, BadSignatureError) as exc:
        raise EnvelopeError(f"the envelope's writer signature does not verify ({type(exc).__name__})") from None
    return writer


def open_envelope(envelope: dict, data_key: bytes, trusted_writers: set[bytes]):
    """Verify the writer is trusted and signed this version, then decrypt the document."""
    writer = writer_of(envelope)
    if writer not in trusted_writers:
        raise EnvelopeError("the envelope was written by a key the reader does not trust")
    try:
        return json.loads(SecretBox(data_key).decrypt(_unb64(envelope["ciphertext"])))
    except CryptoError:
        raise EnvelopeError("the data key does not open this envelope") from None


def wrap_key(data_key: bytes, recipient: bytes) -> str:
    """Seal a data key for a recipient's X25519 public key."""
    return _b64(SealedBox(PublicKey(recipient)).encrypt(data_key))


def unwrap_key(wrapped: str, recipient: PrivateKey) -> bytes:
    try:
        return SealedBox(recipient).decrypt(_unb64(wrapped))
    except (CryptoError, ValueError):
        raise EnvelopeError("the wrapped key is not for this recipient") from None
