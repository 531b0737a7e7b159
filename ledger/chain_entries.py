"""The log entry that mirrors one ConsentRegistry event.

The operator's follower writes exactly this entry for each grant or revocation it sees on
chain; the auditor recomputes it from the chain and compares. Only ids, commitments,
per-consent addresses, blocks and times: nothing personal.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from . import events
from .record import format_time
from .registry import ChainEvent


def entry_for(event: ChainEvent, block_time: int) -> dict[str, Any] | None:
    time = format_time(datetime.fromtimestamp(block_time, UTC))
    common = {"block": event.block, "tx": event.tx, "log_index": event.log_index, "time": time}
    a = event.args
    if event.name == "ConsentGranted":
        return {
            "type": events.CONSENT_GRANTED,
            "consent_id": "0x" + a["consentId"].hex(),
            "commitment": "0x" + a["commitment"].hex(),
            "expires_at": a["expiresAt"],
            "signer": a["signer"],
            **common,
        }
    if event.name == "ConsentRevoked":
        return {
            "type": events.CONSENT_REVOKED,
            "consent_id": "0x" + a["consentId"].hex(),
            "signer": a["signer"],
            "relayer": a["relayer"],
            **common,
        }
    return None
