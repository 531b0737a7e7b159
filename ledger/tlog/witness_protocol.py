"""C2SP tlog-witness (c2sp.org/tlog-witness): the add-checkpoint request body, and the
check a witness makes before it cosigns.

The body is `old <size>\\n`, at most 63 base64 consistency-proof hashes (one per line), an
empty line, then the signed checkpoint. A witness cosigns a checkpoint only if `old` is the
size it last cosigned for that log (else 409 with its size), the proof leads from its stored
root to the new one (else 422), and a checkpoint of the same size has the same root (else
409): so a witness never cosigns two different trees of one size, nor a smaller one.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from ..errors import MyDataError
from . import merkle
from .checkpoint import Checkpoint

MAX_PROOF_LINES = 63
SIZE_CONTENT_TYPE = "text/x.tlog.size"


class WitnessRequestError(MyDataError, ValueError):
    """An add-checkpoint body that does not follow the spec (HTTP 400)."""

    problem_type = "bad-request"


class SizeMismatch(MyDataError):
    """`old` is not the size the witness last cosigned (HTTP 409, body: that size)."""

    problem_type = "witness-size-mismatch"

    def __init__(self, stored_size: int):
        super().__init__(f"the witness last cosigned size {stored_size}")
        self.stored_size = stored_size


class InconsistentTree(MyDataError):
    """The checkpoint is not an append-only extension of the tree the witness cosigned
    (HTTP 422 for a proof that does not verify, 409 for another root at the same size)."""

    problem_type = "witness-inconsistent-tree"

    def __init__(self, detail: str, status: int):
        super().__init__(detail)
        self.status = status


@dataclass(frozen=True)
class AddCheckpoint:
    old_size: int
    proof: list[bytes]
    checkpoint: str  # the signed note

    def encode(self) -> bytes:
        proof = "".join(base64.b64encode(h).decode() + "\n" for h in self.proof)
        return f"old {self.old_size}\n{proof}\n{self.checkpoint}".encode()

    @classmethod
    def parse(cls, body: bytes) -> AddCheckpoint:
        try:
            text = body.decode()
        except UnicodeDecodeError:
            raise WitnessRequestError("the body is not UTF-8") from None
        head, sep, checkpoint = text.partition("\n\n")
        lines = head.split("\n")
        if not sep or not lines[0].startswith("old "):
            raise WitnessRequestError("the body must start with an `old <size>` line and hold an empty line before the checkpoint")
        size = lines[0][4:]
        if not size.isdigit() or not size.isascii() or (size != "0" and size.startswith("0")):
            raise WitnessRequestError(f"invalid old size {size!r}")
        if len(lines) - 1 > MAX_PROOF_LINES:
            raise WitnessRequestError(f"more than {MAX_PROOF_LINES} consistency proof lines")
        try:
            proof = [base64.b64decode(line, validate=True) for line in lines[1:]]
        except binascii.Error:
            raise WitnessRequestError("a consistency proof line is not base64") from None
        if any(len(h) != merkle.HASH_SIZE for h in proof):
            raise WitnessRequestError("a consistency proof hash is not 32 bytes")
        return cls(int(size), proof, checkpoint)


def check_extension(stored_size: int, stored_root: bytes | None, request: AddCheckpoint, new: Checkpoint) -> None:
    """Whether a witness that last cosigned (`stored_size`, `stored_root`) of this log may
    cosign `new`; raises SizeMismatch, InconsistentTree or WitnessRequestError if not."""
    if request.old_size > new.size:
        raise WitnessRequestError(f"old size {request.old_size} is beyond the checkpoint's size {new.size}")
    if request.old_size != stored_size:
        raise SizeMismatch(stored_size)
    if stored_root is None or stored_size == 0:  # nothing to be consistent with yet
        if request.proof:
            raise InconsistentTree("a consistency proof from size 0 must be empty", 422)
        return
    if new.size == stored_size:
        if new.root != stored_root:
            raise InconsistentTree(f"another root for size {new.size}: the log forked", 409)
        return
    try:
        merkle.verify_consistency(stored_size, new.size, stored_root, new.root, request.proof)
    except merkle.ProofError as exc:
        raise InconsistentTree(f"the consistency proof from size {stored_size} does not verify: {exc}", 422) from None
