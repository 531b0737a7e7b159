"""Verify a citizen's access history on the citizen's side: the checkpoint's signature,
its anchor on chain, and each entry's inclusion proof. An entry is `verified` only when
all three hold; entries logged after the latest anchor are `pending`. An entry inside the
anchored tree that comes without a proof has `failed`: only an entry's index, checked
against the verified checkpoint, may excuse a missing proof, never the operator's word."""

from __future__ import annotations

import base64
from typing import Any

import rfc8785

from .registry import Registry
from .tlog import merkle
from .tlog.checkpoint import CheckpointError, open_checkpoint
from .tlog.note import NoteError, Verifier


def verify_history(history: dict[str, Any], registry: Registry, vkey: str) -> list[dict[str, Any]]:
    """Return the entries, each with `status`: verified, pending (not yet anchored) or failed."""
    cp = None
    if history.get("checkpoint"):
        try:
            cp = open_checkpoint(history["checkpoint"], Verifier.from_vkey(vkey), history["log"]["origin"])
            anchored = registry.anchor_at(history["anchor"]["index"])
            if anchored is None or (anchored.size, anchored.root) != (cp.size, cp.root):
                cp = None
        except (CheckpointError, NoteError, KeyError, TypeError, ValueError):  # a malformed checkpoint or anchor verifies nothing
            cp = None
    out = []
    for item in history["entries"]:
        inside = cp is not None and item["index"] < cp.size
        status = "pending" if item["proof"] is None and not inside else "failed"
        if cp is not None and inside and item["proof"] is not None:
            leaf = merkle.leaf_hash(rfc8785.dumps(item["entry"]))
            path = [base64.b64decode(h) for h in item["proof"]]
            try:
                merkle.verify_inclusion(item["index"], cp.size, leaf, path, cp.root)
                status = "verified"
            except merkle.ProofError:
                status = "failed"
        out.append({**item, "status": status})
    return out
