"""Get the log's checkpoints cosigned by witnesses (C2SP tlog-witness) before they are
anchored, and keep the cosignatures with the checkpoint.

Each witness remembers the last size it cosigned; the operator sends `old <that size>` with
a consistency proof from it. The operator learns that size from the witness itself: it
starts from what it last got cosigned (0 at first), and a 409 answer names the witness's
size, after which it asks once more. A witness that is down, refuses, or answers with a
cosignature that does not verify under its pinned key adds nothing; the checkpoint is
published and anchored all the same, and verifiers judge it by their own k-of-n policy.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

import requests

from ledger.tlog import note
from ledger.tlog.cosignature import WitnessKey
from ledger.tlog.witness_protocol import SIZE_CONTENT_TYPE, AddCheckpoint
from storage.log import LogStore

log = logging.getLogger(__name__)

TIMEOUT = 5.0


@dataclass
class Witness:
    """A witness's add-checkpoint URL prefix and its pinned key."""

    url: str
    key: WitnessKey
    cosigned_size: int = 0  # what this operator last had cosigned by it (a hint; the witness knows)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def parse(cls, spec: str) -> Witness:
        """`URL=VKEY`, as given on the command line."""
        url, sep, vkey = spec.partition("=")
        if not sep or not url.startswith(("http://", "https://")):
            raise note.NoteError(f"a witness is URL=VKEY, not {spec!r}")
        return cls(url.rstrip("/"), WitnessKey.from_vkey(vkey))

    def cosign(self, log_store: LogStore, signed: str, size: int) -> str | None:
        """This witness's verified cosignature line on checkpoint `signed` (of `size`), or None."""
        with self._lock:
            text, _ = note.split(signed)
            old = self.cosigned_size if self.cosigned_size <= size else 0
            for _ in range(2):
                proof = log_store.consistency_proof(old, size) if 0 < old < size else []
                try:
                    answer = requests.post(f"{self.url}/add-checkpoint", data=AddCheckpoint(old, proof, signed).encode(), timeout=TIMEOUT)
                except requests.RequestException as exc:
                    log.warning("witness %s unreachable: %s", self.key.name, exc)
                    return None
                if answer.status_code == 409 and answer.headers.get("Content-Type", "").startswith(SIZE_CONTENT_TYPE):
                    old = int(answer.text.strip() or 0)
                    if old > size:
                        break  # the witness has seen a larger tree than this one: it cannot cosign it
                    continue
                if answer.status_code != 200:
                    break
                for line in answer.text.splitlines(keepends=True):
                    name, _, b64 = line.removeprefix(note.SIG_PREFIX).partition(" ")
                    if self.key.timestamp(text, name, note.decode_signature(b64)) is not None:
                        self.cosigned_size = size
                        return line
                log.warning("witness %s answered without a valid cosignature", self.key.name)
                return None
            log.warning("witness %s refused checkpoint %d: %s %s", self.key.name, size, answer.status_code, answer.text[:200])
            return None


class Witnesses:
    """The witnesses this operator asks to cosign each anchored checkpoint."""

    def __init__(self, witnesses: list[Witness]):
        self.witnesses = witnesses

    def cosign(self, log_store: LogStore, size: int) -> list[str]:
        """Ask every witness to cosign the checkpoint of `size`; store and return the names
        of those that did."""
        signed = log_store.checkpoint_at(size)
        if signed is None or not self.witnesses:
            return []
        lines = {w.key.name: w.cosign(log_store, signed, size) for w in self.witnesses}
        got = {name: line for name, line in lines.items() if line}
        if got:
            log_store.add_cosignatures(size, list(got.values()))
        return sorted(got)
