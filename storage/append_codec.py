"""An append request as bytes: how a request travels to the host's log writer process
(consent_operator/log/log_writer.py) and waits for the sequencer in PostgreSQL
(storage/postgres/sequencer.py).

The form is a JSON object `{"entries": [base64…], "meta": {…}, "keys": [[…]], "claim":
[key, expires_at] or null, "owner": token, "publish": bool, "expects": {…}}`: the owner token travels with
the claim, so whoever reads the request back can tell its own committed append from a
replay's. Decoding checks every field's type, since the bytes come from another process.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from .log import AppendRequest


def encode_request(req: AppendRequest) -> bytes:
    return json.dumps(
        {"entries": [base64.b64encode(e).decode() for e in req.entries], "meta": req.meta, "keys": req.keys, "claim": req.claim, "owner": req.owner, "publish": req.publish, "expects": req.expects},
        separators=(",", ":"),
    ).encode()


def decode_request(payload: bytes) -> AppendRequest:
    """The request in `payload` (ValueError, KeyError, TypeError or AttributeError if it
    is not one)."""
    obj = json.loads(payload)
    entries = [base64.b64decode(e, validate=True) for e in obj["entries"]]
    meta, keys, expects = _strings_by_string(obj, "meta"), obj.get("keys") or [], _strings_by_string(obj, "expects")
    if not all(isinstance(k, str) for ks in keys for k in ks):
        raise ValueError("keys must be lists of strings")
    claim = obj.get("claim")
    if claim is not None and not (isinstance(claim, list) and len(claim) == 2 and isinstance(claim[0], str) and isinstance(claim[1], int | float)):
        raise ValueError("claim must be [key, expires_at]")
    owner = obj.get("owner")
    if not isinstance(owner, str) or not 0 < len(owner) <= 64:
        raise ValueError("owner must be the request's token")
    publish = obj.get("publish", False)
    if not isinstance(publish, bool):
        raise ValueError("publish must be true or false")
    return AppendRequest(entries, meta, [list(ks) for ks in keys], tuple(claim) if claim else None, owner, publish, expects)


def _strings_by_string(obj: dict[str, Any], field: str) -> dict[str, str]:
    value = obj.get(field) or {}
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValueError(f"{field} must map strings to strings")
    return value
