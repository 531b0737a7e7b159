"""Typed audit-log entries: canonical JSON (RFC 8785) with ids, commitments, blocks and times only.

No entry ever carries personal data: consent ids and commitments are random or
salted, addresses are per-consent keys, services are named by their public id.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

from .errors import MyDataError

CONSENT_GRANTED = "consent.granted"
CONSENT_REFUSED = "consent.refused"
CONSENT_REVOKED = "consent.revoked"
CONSENT_EXPIRED = "consent.expired"
DATA_READ = "data.read"
DATA_WRITTEN = "data.written"
DATA_DENIED = "data.denied"
CHAIN_REORGED = "chain.reorged"  # withdraws the entries of chain events whose blocks a reorg orphaned

TYPES = {CONSENT_GRANTED, CONSENT_REFUSED, CONSENT_REVOKED, CONSENT_EXPIRED, DATA_READ, DATA_WRITTEN, DATA_DENIED, CHAIN_REORGED}
CHAIN_TYPES = {CONSENT_GRANTED, CONSENT_REVOKED}  # entries that mirror a chain event
DATA_TYPES = (DATA_READ, DATA_WRITTEN, DATA_DENIED)  # accesses to citizens' data, allowed or not


class EntryError(MyDataError, ValueError):
    """A log entry is not a well-formed typed event."""

    problem_type = "invalid-entry"


def encode(event: dict[str, Any]) -> bytes:
    if event.get("type") not in TYPES:
        raise EntryError(f"unknown entry type {event.get('type')!r}")
    return rfc8785.dumps(event)


def decode(data: bytes) -> dict[str, Any]:
    try:
        event = json.loads(data)
    except ValueError as exc:
        raise EntryError("entry is not JSON") from exc
    if not isinstance(event, dict) or event.get("type") not in TYPES:
        raise EntryError("entry has no known type")
    if rfc8785.dumps(event) != data:
        raise EntryError("entry is not in canonical form")
    return event


ChainKey = tuple[str, int, str]  # (transaction, log index, entry type): one chain event's entry


def chain_key(event: dict[str, Any]) -> ChainKey | None:
    """(tx, log index, type) identity of an entry that mirrors a chain event."""
    if event["type"] not in CHAIN_TYPES:
        return None
    return (event["tx"].lower(), event["log_index"], event["type"])


def withdrawn_keys(event: dict[str, Any]) -> list[ChainKey]:
    """The chain events a `chain.reorged` entry withdraws: orphaned by a reorg, they never
    happened on the chain that won."""
    return [(o["tx"].lower(), o["log_index"], o["event"]) for o in event["orphaned"]]
