"""`POST /notifications`: the operator tells this service that a consent ended.

The SDK checks the operator's RFC 9421 signature and answers (cv_service/notifications.py); the service
then drops every copy it keeps of that citizen's CV and remembers the ending, so the CV
page says "consent ended" and shows nothing it kept. Acting twice on one notification
(the operator delivers at least once) changes nothing. No cookie and no CSRF token: the
operator's signature is the authentication.
"""

from __future__ import annotations

from flask import Blueprint, request

from .context import service

bp = Blueprint("notified", __name__)


@bp.post("/notifications")
def notification():
    svc = service()
    return svc.client.notifications.handle(request, lambda e: svc.store.consent_ended(e.id, e.consent_id, e.citizen, e.reason, e.time))
