"""The SDK's side of the operator's "consent ended" notifications (operator/notify).

`NotificationReceiver.receive(request)` accepts a notification only when it is signed with
RFC 9421 by the operator's published key (key id `operator`, read once from
/ledger/info), fresh (within the signature window) and not seen before (its nonce), and
names this service; it returns the `ConsentEnded` it tells of. `handle(request, act)` is a
web handler's whole work: receive, act, answer 204, or an RFC 9457 problem (401 for the
signature, 400 for the body). The operator delivers at least once, so a service acts on
each `id` once (the receiver does not remember ids: the service's own store does, beside
what it drops).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from httpkit.problems import Problem
from ledger.errors import MyDataError
from ledger.request_auth import IncomingRequest, RequestAuthError, RequestVerifier

NOTIFICATION_TYPE = "consent.ended"
REASONS = ("revoked", "expired")


class NotificationError(MyDataError, ValueError):
    """A signed notification whose body is not a consent-ended notification for this service."""

    problem_type = "invalid-notification"


@dataclass(frozen=True)
class ConsentEnded:
    id: int  # the operator's log index of the ending entry: the same on every redelivery
    consent_id: str
    citizen: str
    reason: str  # "revoked" or "expired"
    time: str


class NoncesInMemory:
    """The receiver's ReplayStore: nonces seen within the signature window, in memory."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def use(self, key_id: str, nonce: str, expires_at: float) -> bool:
        now = time.time()
        with self._lock:
            self._seen = {k: t for k, t in self._seen.items() if t >= now}  # kept through its last valid second
            if (key_id, nonce) in self._seen:
                return False
            self._seen[(key_id, nonce)] = expires_at
            return True

    def forget(self, key_id: str) -> int:
        with self._lock:
            gone = [k for k in self._seen if k[0] == key_id]
            for k in gone:
                del self._seen[k]
            return len(gone)


class NotificationReceiver:
    def __init__(self, service_id: str, operator_key: Callable[[], tuple[str, bytes]]):
        """`operator_key()` gives the operator's (key id, Ed25519 public key), asked once."""
        self.service_id = service_id
        self._operator_key = operator_key
        self._key: tuple[str, bytes] | None = None
        self._verifier = RequestVerifier(self._key_for, NoncesInMemory())

    def _key_for(self, key_id: str) -> bytes | None:
        if self._key is None:
            self._key = self._operator_key()
        return self._key[1] if key_id == self._key[0] else None

    def receive(self, request: IncomingRequest) -> ConsentEnded:
        """The notification in a Werkzeug/Flask request (RequestAuthError if it is not the
        operator's signed, fresh, first-seen request; NotificationError if its body is wrong)."""
        self._verifier.verify_request(request)
        wrong = NotificationError("not a consent-ended notification for this service")
        try:
            body = json.loads(request.get_data())
        except ValueError:
            raise wrong from None
        if not (
            isinstance(body, dict) and body.get("type") == NOTIFICATION_TYPE and body.get("service") == self.service_id
            and type(body.get("id")) is int and body.get("reason") in REASONS
            and all(isinstance(body.get(k), str) for k in ("consent_id", "citizen", "time"))
        ):
            raise wrong
        return ConsentEnded(body["id"], body["consent_id"], body["citizen"], body["reason"], body["time"])

    def handle(self, request: IncomingRequest, act: Callable[[ConsentEnded], object]) -> tuple[str, int]:
        """Receive the notification in `request` and `act` on it; ("", 204) for the web
        framework, or a Problem (401 not the operator's fresh signature, 400 a wrong body)."""
        try:
            ended = self.receive(request)
        except RequestAuthError as exc:
            raise Problem(401, exc.slug, "Not a notification signed by the operator", str(exc)) from None
        except NotificationError as exc:
            raise Problem(400, exc.problem_type, "Not a consent-ended notification", str(exc)) from None
        act(ended)
        return "", 204
