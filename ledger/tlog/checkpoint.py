"""C2SP tlog-checkpoint bodies: origin, tree size and base64 root hash."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from ..errors import MyDataError
from . import note
from .merkle import HASH_SIZE


class CheckpointError(MyDataError, ValueError):
    """A checkpoint is malformed or not from the expected log."""

    problem_type = "invalid-checkpoint"


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "" or any(not line for line in lines[:-1]):
            raise CheckpointError("checkpoint must be at least three non-empty lines")
        origin, size_s, root_s = lines[:3]
        if not size_s.isdigit() or (size_s != "0" and size_s.startswith("0")):
            raise CheckpointError(f"invalid tree size {size_s!r}")
        try:
            root = base64.b64decode(root_s, validate=True)
        except binascii.Error as exc:
            raise CheckpointError("root hash is not base64") from exc
        if len(root) != HASH_SIZE:
            raise CheckpointError("root hash is not 32 bytes")
        return cls(origin, int(size_s), root)


def sign_checkpoint(cp: Checkpoint, signer: note.Signer) -> str:
    return note.sign(cp.text(), signer)


def open_checkpoint(signed: str, verifier: note.Verifier, origin: str | None = None) -> Checkpoint:
    """Verify a signed checkpoint and return its body; `origin` pins the expected log."""
    try:
        cp = Checkpoint.parse(note.open_note(signed, verifier))
    except note.NoteError as exc:
        raise CheckpointError(str(exc)) from exc
    if origin is not None and cp.origin != origin:
        raise CheckpointError(f"checkpoint is for log {cp.origin!r}, expected {origin!r}")
    return cp
