"""`POST /notifications`: the operator tells this service that a consent ended.

The SDK checks the operator's RFC 9421 signature (cv_service/notifications.py); the service
then drops every copy it keeps of that citizen's CV and remembers the ending, so the CV
page says "consent ended" and shows nothing it kept. Acting twice on one notification
(the operator delivers at least once) changes nothing. No cookie and no CSRF token: the
operator's signature is the authentication.
"""

from __future__ import annotations

from flask import Blueprint, request

from httpkit.problems import Problem
from ledger.request_auth import RequestAuthError

from .context import service
from .notifications import NotificationError

bp = Blueprint("notified", __name__)


@bp.post("/notifications")
def notification():
    svc = service()
    try:
        ended = svc.client.notifications.receive(request)
    except RequestAuthError as exc:
        raise Problem(401, exc.slug, "Not a notification signed by the operator", str(exc)) from None
    except NotificationError as exc:
        raise Problem(400, exc.problem_type, "Not a consent-ended notification", str(exc)) from None
    svc.store.consent_ended(ended.id, ended.consent_id, ended.citizen, ended.reason, ended.time)
    return "", 204
