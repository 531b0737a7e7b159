"""Tells services when a consent ends: signed notifications from a durable outbox.

Four steps, each safe to repeat after a crash at any point:
1. Expiries: a consent past its expiry (by the followed chain's time) gets its
   `consent.expired` entry logged, once, even if no service ever asks for its data again.
2. Queueing: the log entries after the outbox's cursor are read in order; each
   `consent.revoked` or `consent.expired` of a consent this operator indexed, for a service
   that registered a `notify_url`, becomes one notification whose id is the entry's log
   index. Rows and the new cursor commit together (storage/outbox.py).
3. Delivery: each due notification is POSTed as JSON to the service, signed with RFC 9421
   by the operator's request key (the scheme services sign their own requests with, key id
   `operator`, published at /ledger/info). A 2xx answer marks it delivered; anything else
   (refused, unreachable, timed out) retries after a backoff doubling from
   `first_retry` up to `max_retry` seconds. At least once: the service dedupes by `id`.
4. Archiving, once a minute: consents that ended `archive_after_days` ago leave the live
   index (access/archiving.py); step 2 notes each ending it reads for it.

Runs in one thread of one process among all workers and replicas (the holder of the
backend's "notifier" lock), so a slow service never holds up the chain follower.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

import requests

from ledger import events
from ledger.request_auth import RequestSigner
from storage.directory import IndexedConsent
from storage.outbox import Notification

from .. import metrics
from ..access import archiving, release
from ..leadership import Leader

if TYPE_CHECKING:
    from ..runtime import OperatorRuntime

log = logging.getLogger(__name__)

ENDINGS = {events.CONSENT_REVOKED: "revoked", events.CONSENT_EXPIRED: "expired"}
NOTIFICATION_TYPE = "consent.ended"
CHUNK = 1000  # log entries read per query while queueing
ARCHIVE_EVERY_SECONDS = 60.0


class Notifier:
    def __init__(self, rt: OperatorRuntime, signer: RequestSigner, first_retry: float = 1.0, max_retry: float = 300.0, timeout: float = 5.0):
        self.rt = rt
        self.outbox = rt.backend.outbox()
        self.first_retry, self.max_retry, self.timeout = first_retry, max_retry, timeout
        self.key = signer.public_key()  # published at /ledger/info for services to verify with
        self.session = requests.Session()
        self.session.auth = signer
        self._stop = threading.Event()
        self._next_archive = 0.0

    def tick(self) -> int:
        """Log due expiries, queue new endings, deliver what is due, archive what ended long
        ago (once a minute); returns deliveries made."""
        self.log_expiries()
        self.queue()
        delivered = self.deliver()
        if time.monotonic() >= self._next_archive:
            self._next_archive = time.monotonic() + ARCHIVE_EVERY_SECONDS
            archiving.archive_ended(self.rt, time.time(), self.rt.config.archive_after_days * 86400)
        return delivered

    def log_expiries(self) -> None:
        """Log the expiry of every consent whose time came since the last call (the time the
        release path judges by: the followed chain's, or this host's if later)."""
        position = self.rt.follower.position()
        block, now, after = position.block, max(position.chain_time, int(release.wall_clock())), self.outbox.expiry_cursor()
        if now <= after:
            return
        for c in self.rt.directory.consents_expiring(after, now):
            if release.status_of(self.rt, c, now) == "expired":  # a revoked one ended already
                release.log_expiry_once(self.rt, c, block)
        self.outbox.expired_up_to(now)

    def queue(self) -> None:
        cursor, size = self.outbox.cursor(), self.rt.log.head
        while cursor < size:
            end, now = min(size, cursor + CHUNK), time.time()
            items, endings = [], []
            for i, data in enumerate(self.rt.log.entries(cursor, end), cursor):
                entry = events.decode(data)
                consent = self.rt.directory.consent(entry["consent_id"]) if entry["type"] in ENDINGS else None
                if consent is not None:
                    endings.append((consent.consent_id, now))
                    if notification := self._notification(i, entry, consent):
                        items.append(notification)
            self.outbox.queue(items, end, now, endings)
            metrics.NOTIFICATIONS_QUEUED.inc(len(items))
            cursor = end

    def _notification(self, index: int, entry: dict, consent: IndexedConsent) -> Notification | None:
        """The notification of an ending entry of `consent`, if its service takes them."""
        reason = ENDINGS[entry["type"]]
        url = self.rt.directory.notify_url(consent.service_id)
        if url is None:
            return None
        body = {
            "type": NOTIFICATION_TYPE, "id": index, "reason": reason, "consent_id": consent.consent_id,
            "service": consent.service_id, "citizen": consent.citizen, "time": entry["time"], "log_index": index,
        }
        return Notification(index, consent.service_id, consent.citizen, url, body, 0)

    def deliver(self) -> int:
        done = 0
        for n in self.outbox.due(time.time()):
            try:
                resp = self.session.post(n.url, json=n.body, timeout=self.timeout)
                error = None if resp.ok else f"HTTP {resp.status_code}"
            except requests.RequestException as exc:
                error = type(exc).__name__
            if error is None:
                self.outbox.delivered(n.id, time.time())
                metrics.NOTIFICATIONS_DELIVERED.inc()
                done += 1
            else:
                self.outbox.failed(n.id, time.time() + min(self.first_retry * 2**n.attempts, self.max_retry), error)
                metrics.NOTIFICATION_FAILURES.labels(error.split()[0]).inc()
        return done

    def run(self, every: float) -> None:
        """Tick every `every` seconds while this process holds the "notifier" lock."""
        leader = Leader(self.rt.backend, "notifier", self.rt.config.poll_seconds)
        while not self._stop.wait(every):
            try:
                if leader.held():
                    self.tick()
            except Exception as exc:  # noqa: BLE001 - database or chain away: the next tick retries
                log.warning("notifier failed (will retry): %s", exc)

    def stop(self) -> None:
        self._stop.set()
