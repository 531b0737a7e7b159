"""What the log says of each consent (granted, revoked, unconfirmed), kept per process for as
long as the follower's state token holds.

A decision reads the follower's position anyway (one query: block, chain time, lag). That
read carries a token the follower rewrites in the same transaction as every grant,
revocation or reorg withdrawal (follower.Position), so as long as the token a decision reads
is the token a consent's state was read under, that state still holds: the two index
lookups and the snapshot transaction they need are skipped. A revocation committed by any
replica changes the token, so the very next decision on every replica reads again — the
guarantee of a version counter checked per request, without a query of its own (a
LISTEN/NOTIFY push would save no query here and would answer from a stale state while the
notice is in flight).

Expiry is not kept: it is judged per decision from the consent's expiry and the time then.
"""

from __future__ import annotations

import threading

GRANTED, REVOKED, UNCONFIRMED = "granted", "revoked", "unconfirmed"
MAX_KEPT = 100_000  # consents whose state one process keeps (about 10 MB); past it, it starts again


class ConsentStates:
    """Consent id → log state, all read under one follower state token."""

    def __init__(self, max_kept: int = MAX_KEPT):
        self.max_kept = max_kept
        self._token: str | None = None
        self._states: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, token: str, consent_ids: list[str]) -> list[str] | None:
        """The kept states of `consent_ids` if every one was read under `token`, else None."""
        with self._lock:
            if token != self._token:
                return None
            states = [self._states.get(cid) for cid in consent_ids]
        return None if None in states else states  # type: ignore[return-value]

    def keep(self, token: str, states: dict[str, str]) -> None:
        """Keep `states`, read in a snapshot whose token was `token`; another token replaces
        everything kept under the one before (a decision that read an older token only
        costs the next decision a read)."""
        with self._lock:
            if token != self._token:
                self._token, self._states = token, {}
            if len(self._states) + len(states) > self.max_kept:
                self._states = {}
            self._states.update(states)
