"""Archiving ended consents, so the consent index the release path reads holds live ones only.

A consent that ended (revoked or expired) at least `after_seconds` ago — as the notifier
noted when it read the ending in the log — moves into the directory's archive
(storage/directory.py): its index row, request and purposes become one compact document.
The release path no longer sees it (a service that asks again is told `no-consent`, or
`area-not-granted` if it holds another consent), while the citizen's history and Art 15
report still name it. Each is checked against the log
first: a consent whose revocation a reorg withdrew holds again and is not archived.
Notifications delivered before the same cut-off are dropped too (the log keeps the entries
they told about).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import release

if TYPE_CHECKING:
    from ..runtime import OperatorRuntime

ENDED = ("revoked", "expired")


def archive_ended(rt: OperatorRuntime, now: float, after_seconds: float) -> int:
    """Archive the consents that ended before `now - after_seconds`; returns how many."""
    cutoff = now - after_seconds
    judged_at = max(rt.follower.position().chain_time, int(release.wall_clock()))
    archived = 0
    for consent_id in rt.directory.endings_before(cutoff):
        consent = rt.directory.consent(consent_id)
        if consent is not None and release.status_of(rt, consent, judged_at) not in ENDED:
            rt.directory.drop_ending(consent_id)  # it holds again (or is not confirmed): not ended
            continue
        archived += rt.directory.archive(consent_id)
    rt.backend.outbox().prune_delivered(cutoff)
    return archived
