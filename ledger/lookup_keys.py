"""The private lookup keys under which the operator indexes log entries (never in the log).

Entries themselves name no citizen; the operator finds a citizen's or a consent's entries
through these keys, and drops a citizen's keys on erasure so the entries stay but nothing
links them to the person any more. One module builds every key, so their prefixes cannot
drift apart between the writer that stores them and the readers that look them up.
"""

from __future__ import annotations


def consent_key(consent_id: str) -> str:
    """The key of every entry about one consent."""
    return "consent:" + consent_id.lower()


def grant_key(consent_id: str) -> str:
    """The key of a consent's grant entry from a confirmed block, and of the entry that
    withdraws it if that block is orphaned by a reorg (so the consent holds while an odd
    number of entries is under it: see chain_status)."""
    return "granted:" + consent_id.lower()


def revocation_key(consent_id: str) -> str:
    """The key of a consent's revocation entry, and of the entry that withdraws it if its
    block is orphaned by a reorg (revoked while an odd number of entries is under it)."""
    return "revoked:" + consent_id.lower()


def chain_block_key(block: int) -> str:
    """The key of the entries that mirror the chain events of one block (found again when a
    reorg orphans that block)."""
    return f"block:{block}"


def expiry_key(consent_id: str) -> str:
    """The key of a consent's expiry entry (written once, by the first release after it)."""
    return "expired:" + consent_id.lower()


_LASTING = ("granted:", "revoked:", "expired:", "request:", "block:")


def is_lasting(key: str) -> bool:
    """Whether `key` is written once per event (a consent's grant, revocation or expiry, a
    request's, a block's) rather than with every data access (a citizen's, a consent's): the
    log indexes these by key alone, one probe to find on the release path, and the others
    by epoch, so that the inserts of every access stay in the recent part of the index
    (storage/log.py)."""
    return key.startswith(_LASTING)
