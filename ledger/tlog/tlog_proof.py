"""C2SP tlog-proof@v1: an offline inclusion proof with its signed checkpoint."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from ..errors import MyDataError

HEADER = "c2sp.org/tlog-proof@v1"


class TlogProofError(MyDataError, ValueError):
    """A tlog-proof is malformed."""

    problem_type = "invalid-tlog-proof"


@dataclass(frozen=True)
class TlogProof:
    index: int
    path: list[bytes]
    checkpoint: str
    extra: bytes | None = None

    def text(self) -> str:
        lines = [HEADER]
        if self.extra is not None:
            lines.append("extra " + base64.b64encode(self.extra).decode())
        lines.append(f"index {self.index}")
        lines.extend(base64.b64encode(h).decode() for h in self.path)
        return "\n".join(lines) + "\n\n" + self.checkpoint

    @classmethod
    def parse(cls, text: str) -> TlogProof:
        head, sep, checkpoint = text.partition("\n\n")
        lines = head.split("\n")
        if not sep or not lines or lines[0] != HEADER:
            raise TlogProofError("not a c2sp.org/tlog-proof@v1 proof")
        lines = lines[1:]
        extra = None
        try:
            if lines and lines[0].startswith("extra "):
                extra = base64.b64decode(lines.pop(0)[6:], validate=True)
            if not lines or not lines[0].startswith("index "):
                raise TlogProofError("tlog-proof has no index line")
            index_s = lines.pop(0)[6:]
            if not index_s.isdigit() or (index_s != "0" and index_s.startswith("0")):
                raise TlogProofError(f"invalid index {index_s!r}")
            path = [base64.b64decode(line, validate=True) for line in lines]
        except binascii.Error as exc:
            raise TlogProofError("tlog-proof line is not base64") from exc
        return cls(int(index_s), path, checkpoint, extra)
