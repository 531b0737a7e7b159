"""The operator's counters, in the Prometheus text format at `/metrics`.

What is counted instead of logged: refused requests (unsigned, badly signed, stale,
replayed, unknown key) by reason, and rate-limited ones. They are never log entries: a
stranger's requests must not write into a citizen's history. Under gunicorn the
workers' counters are summed from `PROMETHEUS_MULTIPROC_DIR` (set before the workers
start, see gunicorn_app), otherwise they are the one process's own.
"""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest, multiprocess

REFUSED = Counter("mydata_refused_requests", "Requests refused before any decision, by reason", ["reason"])
RATE_LIMITED = Counter("mydata_rate_limited_requests", "Requests answered 429")
NOTIFICATIONS_QUEUED = Counter("mydata_notifications_queued", "Consent-ended notifications put in the outbox")
NOTIFICATIONS_DELIVERED = Counter("mydata_notifications_delivered", "Notifications a service acknowledged (2xx)")
NOTIFICATION_FAILURES = Counter("mydata_notification_failures", "Delivery attempts that failed (to be retried), by cause", ["cause"])


def exposition() -> tuple[bytes, str]:
    """The current counters as (body, content type)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
