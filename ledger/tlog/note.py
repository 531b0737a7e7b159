"""C2SP signed-note with Ed25519 keys (c2sp.org/signed-note).

Key IDs, verifier keys (`name+hexid+base64(0x01||pubkey)`) and signature lines
follow the spec byte for byte, so Go's sumdb/note and other implementations
verify our notes unchanged.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from dataclasses import dataclass

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from ..errors import MyDataError

ED25519_TYPE = b"\x01"
SIG_PREFIX = "\u2014 "
MAX_SIGNATURES = 100


class NoteError(MyDataError, ValueError):
    """A note or key is malformed, or no trusted signature verifies."""

    problem_type = "invalid-note"


def _check_name(name: str) -> None:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise NoteError(f"invalid key name {name!r}")


def typed_key_id(name: str, key_type: bytes, public_key: bytes) -> int:
    """The first four bytes, big-endian, of SHA-256(name || "\n" || type || key) (C2SP
    signed-note; the type byte is 0x01 for a note signer, 0x04 for a tlog cosigner)."""
    digest = hashlib.sha256(name.encode() + b"\n" + key_type + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def key_id(name: str, public_key: bytes) -> int:
    """The key ID of an Ed25519 note signer."""
    return typed_key_id(name, ED25519_TYPE, public_key)


def parse_vkey(vkey: str, key_type: bytes) -> tuple[str, int, bytes]:
    """(name, key ID, Ed25519 public key) of a verifier key `name+hexid+base64(type||key)`
    whose type byte is `key_type` and whose key ID matches."""
    try:
        name, hexid, b64 = vkey.split("+", 2)
        kid = int(hexid, 16)
        raw = base64.b64decode(b64, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise NoteError(f"malformed verifier key {vkey!r}") from exc
    _check_name(name)
    if len(hexid) != 8 or raw[:1] != key_type or len(raw) != 33:
        raise NoteError(f"malformed verifier key or not of type 0x{key_type.hex()}: {vkey!r}")
    if typed_key_id(name, key_type, raw[1:]) != kid:
        raise NoteError(f"verifier key {vkey!r} has a wrong key ID")
    return name, kid, raw[1:]


def format_vkey(name: str, kid: int, key_type: bytes, public_key: bytes) -> str:
    return f"{name}+{kid:08x}+{base64.b64encode(key_type + public_key).decode()}"


def signature_line(name: str, blob: bytes) -> str:
    """A note signature line: `— <name> base64(key ID || signature)` and a newline."""
    return f"{SIG_PREFIX}{name} {base64.b64encode(blob).decode()}\n"


def decode_signature(b64: str) -> bytes:
    """The blob of a signature line (empty if it is not base64: no key's signature)."""
    try:
        return base64.b64decode(b64.strip(), validate=True)
    except binascii.Error:
        return b""


@dataclass(frozen=True)
class Verifier:
    name: str
    key_id: int
    public_key: bytes

    @classmethod
    def from_vkey(cls, vkey: str) -> Verifier:
        return cls(*parse_vkey(vkey, ED25519_TYPE))

    @property
    def vkey(self) -> str:
        return format_vkey(self.name, self.key_id, ED25519_TYPE, self.public_key)

    def verify(self, text: bytes, signature: bytes) -> bool:
        try:
            VerifyKey(self.public_key).verify(text, signature)
            return True
        except BadSignatureError:
            return False


class Signer:
    """An Ed25519 note signer with a key name."""

    def __init__(self, name: str, seed: bytes):
        _check_name(name)
        self.name = name
        self._key = SigningKey(seed)
        self.verifier = Verifier(name, key_id(name, bytes(self._key.verify_key)), bytes(self._key.verify_key))

    @classmethod
    def from_skey(cls, skey: str) -> Signer:
        """Parse Go's `PRIVATE+KEY+name+hexid+base64(0x01||seed)` form."""
        parts = skey.split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("malformed signer key")
        raw = base64.b64decode(parts[4])
        if raw[:1] != ED25519_TYPE or len(raw) != 33:
            raise NoteError("signer key is not an Ed25519 key")
        signer = cls(parts[2], raw[1:])
        if f"{signer.verifier.key_id:08x}" != parts[3]:
            raise NoteError("signer key has a wrong key ID")
        return signer

    def sign_line(self, text: bytes) -> str:
        sig = self._key.sign(text).signature
        return signature_line(self.name, struct.pack(">I", self.verifier.key_id) + sig)


_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")  # control characters other than newline


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("note text must end in a newline")
    if _CONTROL.search(text):
        raise NoteError("note text contains control characters")


def sign(text: str, *signers: Signer) -> str:
    _check_text(text)
    data = text.encode()
    return text + "\n" + "".join(s.sign_line(data) for s in signers)


def split(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    """Split a signed note into its text and (key name, key ID + signature) pairs."""
    cut = note.rfind("\n\n")
    if cut < 0 or not note.endswith("\n"):
        raise NoteError("malformed note: no signature block")
    text, block = note[: cut + 1], note[cut + 2 :]
    _check_text(text)
    sigs = []
    for line in block.splitlines():
        if not line.startswith(SIG_PREFIX):
            raise NoteError("malformed note: bad signature line")
        name, _, b64 = line[len(SIG_PREFIX) :].partition(" ")
        try:
            blob = base64.b64decode(b64, validate=True)
        except binascii.Error as exc:
            raise NoteError("malformed note: signature is not base64") from exc
        if len(blob) < 5 or " " in b64:
            raise NoteError("malformed note: short signature")
        sigs.append((name, blob))
    if not sigs or len(sigs) > MAX_SIGNATURES:
        raise NoteError("malformed note: no or too many signatures")
    return text, sigs


def open_note(note: str, *verifiers: Verifier) -> str:
    """Return the note text when at least one known key signed it and no known key's signature fails."""
    text, sigs = split(note)
    data = text.encode()
    verified = False
    known = {(v.name, v.key_id): v for v in verifiers}
    for name, blob in sigs:
        v = known.get((name, struct.unpack(">I", blob[:4])[0]))
        if v is None:
            continue
        if not v.verify(data, blob[4:]):
            raise NoteError(f"invalid signature by {name}")
        verified = True
    if not verified:
        raise NoteError("note has no signature by a trusted key")
    return text
