"""A citizen's access history: every log entry about them, each with an inclusion proof
against the latest anchored checkpoint, so the citizen's own app can verify it.

Entries stay pseudonymous in the public log; the operator finds a citizen's entries
through its private lookup keys (the citizen id and the ids of their consents).
"""

from __future__ import annotations

import base64
import json
import logging

from flask import Blueprint, jsonify

from httpkit.problems import Problem
from ledger.lookup_keys import consent_key
from storage.log import LogCorrupt, LogStore

from ..access.auth import require_citizen
from .http_util import runtime

logger = logging.getLogger(__name__)

bp = Blueprint("history", __name__, url_prefix="/v1/citizens/<citizen>")


@bp.get("/history")
def history(citizen: str):
    if require_citizen() != citizen:
        raise Problem(403, "forbidden", "Not your history", citizen)
    rt = runtime()
    indices = set(rt.log.find(citizen))
    for c in rt.directory.consents_for_citizen(citizen):
        indices.update(rt.log.find(consent_key(c.consent_id)))
    anchor = rt.anchorer.latest()
    size = anchor.size if anchor else 0
    entries = [{"index": i, "entry": json.loads(rt.log.entry(i)), "proof": _proof(rt.log, i, size)} for i in sorted(indices)]
    return jsonify(
        {
            "checkpoint": rt.log.checkpoint_at(size) if anchor else None,
            "anchor": {"size": anchor.size, "root": "0x" + anchor.root.hex(), "tx": anchor.tx, "index": anchor.anchor_index} if anchor else None,
            "log": {"origin": rt.log.origin, "vkey": rt.signer.verifier.vkey},
            "entries": entries,
        }
    )


def _proof(log: LogStore, index: int, size: int) -> list[str] | None:
    """The entry's inclusion proof in the anchored tree; none if it is newer, or if the
    stored hashes fail their check (the citizen's app then shows the entry as failed)."""
    if index >= size:
        return None
    try:
        return [base64.b64encode(h).decode() for h in log.inclusion_proof(index, size)]
    except LogCorrupt as exc:
        logger.error("audit log integrity: %s", exc)
        return None
