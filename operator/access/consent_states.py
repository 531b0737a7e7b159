"""What the log says of each consent (granted, revoked, unconfirmed), and which consents the
index holds for a citizen and service, kept per process for as long as the follower's
state token holds.

A decision reads the follower's position anyway (one query: block, chain time, lag). That
read carries a token the follower rewrites in the same transaction as every grant,
revocation or reorg withdrawal (follower.Position), so as long as the token a decision reads
is the token a consent's state was read under, that state still holds: the two index
lookups and the snapshot transaction they need are skipped. A revocation committed by any
replica changes the token, so the very next decision on every replica reads again — the
guarantee of a version counter checked per request, without a query of its own (a
LISTEN/NOTIFY push would save no query here and would answer from a stale state while the
notice is in flight).

The consents held by a citizen and service (the consent index's rows) are kept under the
token too, for allowing only (release.decide): a row never changes, a consent becomes
active only under a new token, and a row leaves the index only once its consent has ended,
so kept rows can allow only what a fresh read would; a denial is decided again from a fresh
read (a consent indexed after its grant was followed may be missing from rows kept under
the token that grant brought).

Expiry is not kept: it is judged per decision from the consent's expiry and the time then.
"""

from __future__ import annotations

import threading

from storage.directory import IndexedConsent

GRANTED, REVOKED, UNCONFIRMED = "granted", "revoked", "unconfirmed"
MAX_KEPT = 100_000  # consents whose state one process keeps (about 10 MB); past it, it starts again


class ConsentStates:
    """Consent id → log state, and (citizen, service) → consents held, all read under one
    follower state token."""

    def __init__(self, max_kept: int = MAX_KEPT):
        self.max_kept = max_kept
        self._token: str | None = None
        self._states: dict[str, str] = {}
        self._held: dict[tuple[str, str], list[IndexedConsent]] = {}
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
            self._make_room(token, len(states))
            self._states.update(states)

    def held(self, token: str, citizen: str, service_id: str) -> list[IndexedConsent] | None:
        """The consents kept for `citizen` and `service_id` under `token`, else None."""
        with self._lock:
            return self._held.get((citizen, service_id)) if token == self._token else None

    def keep_held(self, token: str, citizen: str, service_id: str, consents: list[IndexedConsent]) -> None:
        """Keep the consents the index holds for `citizen` and `service_id`, read after `token` was."""
        with self._lock:
            self._make_room(token, 1)
            self._held[(citizen, service_id)] = consents

    def _make_room(self, token: str, adding: int) -> None:
        """(Under the lock.) Drop what another token or the bound does not let stay."""
        if token != self._token or len(self._states) + len(self._held) + adding > self.max_kept:
            self._token, self._states, self._held = token, {}, {}
