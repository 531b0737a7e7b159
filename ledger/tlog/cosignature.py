"""C2SP tlog-cosignature/v1 with Ed25519 (c2sp.org/tlog-cosignature): a witness's
timestamped statement that a checkpoint is the largest consistent tree it has seen of
that log, and the "k of n named witnesses" policy that verifiers apply to them.

A cosignature is a signed-note signature line on the checkpoint,

    — <witness name> base64(key ID || u64 big-endian timestamp || Ed25519 signature)

where key ID = SHA-256(name || "\\n" || 0x04 || public key)[:4], and the signed message is
"cosignature/v1\\n", "time <timestamp>\\n", then the checkpoint's whole note text. Witness
keys travel as verifier keys `name+hexid+base64(0x04 || public key)`. The key ID's type byte
keeps a cosignature from ever verifying as the log's own signature (type 0x01), and the
other way round.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from . import note

COSIGNATURE_TYPE = b"\x04"
_BLOB = struct.Struct(">IQ")  # key ID, timestamp; the 64-byte signature follows
SIGNATURE_SIZE = 64


class CosignatureError(note.NoteError):
    """Too few trusted witnesses cosigned a checkpoint, or a witness key is malformed."""

    problem_type = "invalid-cosignature"


def signed_message(text: str, timestamp: int) -> bytes:
    """What a cosigner signs: the header line, the time line and the checkpoint's note text."""
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


@dataclass(frozen=True)
class WitnessKey:
    """A witness's name and Ed25519 public key, as a cosignature verifier."""

    name: str
    key_id: int
    public_key: bytes

    @classmethod
    def from_vkey(cls, vkey: str) -> WitnessKey:
        name, kid, public_key = note.parse_vkey(vkey, COSIGNATURE_TYPE)
        return cls(name, kid, public_key)

    @property
    def vkey(self) -> str:
        return note.format_vkey(self.name, self.key_id, COSIGNATURE_TYPE, self.public_key)

    def timestamp(self, text: str, name: str, blob: bytes) -> int | None:
        """The time of this witness's valid cosignature `blob` (a signature line of `name`)
        on note text `text`; None if the line is another key's or does not verify."""
        if name != self.name or len(blob) != _BLOB.size + SIGNATURE_SIZE:
            return None
        kid, timestamp = _BLOB.unpack(blob[: _BLOB.size])
        timestamp = int(timestamp)
        if kid != self.key_id or timestamp >= 2**63:
            return None
        try:
            VerifyKey(self.public_key).verify(signed_message(text, timestamp), blob[_BLOB.size :])
        except BadSignatureError:
            return None
        return timestamp


class Cosigner:
    """A witness's signing key."""

    def __init__(self, name: str, seed: bytes):
        self._key = SigningKey(seed)
        public_key = bytes(self._key.verify_key)
        self.key = WitnessKey(name, note.typed_key_id(name, COSIGNATURE_TYPE, public_key), public_key)

    def cosign(self, text: str, timestamp: int) -> str:
        """The cosignature line on checkpoint note text `text`, made at `timestamp`."""
        signature = self._key.sign(signed_message(text, timestamp)).signature
        return note.signature_line(self.key.name, _BLOB.pack(self.key.key_id, timestamp) + signature)


@dataclass(frozen=True)
class WitnessPolicy:
    """Trust a checkpoint only once at least `quorum` of the named `witnesses` cosigned it."""

    quorum: int
    witnesses: tuple[WitnessKey, ...]

    def __post_init__(self) -> None:
        if len({w.name for w in self.witnesses}) != len(self.witnesses):
            raise CosignatureError("a witness is named twice in the policy")
        if not 0 <= self.quorum <= len(self.witnesses):
            raise CosignatureError(f"a quorum of {self.quorum} cannot be met by {len(self.witnesses)} witnesses")

    @classmethod
    def parse(cls, quorum: int, vkeys: list[str]) -> WitnessPolicy:
        return cls(quorum, tuple(WitnessKey.from_vkey(v) for v in vkeys))

    def cosigners(self, signed_checkpoint: str) -> dict[str, int]:
        """Each named witness whose cosignature on the checkpoint verifies, with its time."""
        text, signatures = note.split(signed_checkpoint)
        found: dict[str, int] = {}
        for witness in self.witnesses:
            for name, blob in signatures:
                timestamp = witness.timestamp(text, name, blob)
                if timestamp is not None:
                    found[witness.name] = timestamp
                    break
        return found

    def check(self, signed_checkpoint: str) -> list[str]:
        """The names of the witnesses that cosigned; CosignatureError if fewer than the quorum."""
        names = sorted(self.cosigners(signed_checkpoint))
        if len(names) < self.quorum:
            raise CosignatureError(f"checkpoint cosigned by {len(names)} of the trusted witnesses ({', '.join(names) or 'none'}), {self.quorum} required")
        return names
