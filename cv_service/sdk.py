"""The SDK every service uses to talk to the operator: register, request consent, follow a request.

All calls are RFC 9421-signed with the service's Ed25519 key (key id `service:<id>`).
"""

from __future__ import annotations

import hashlib

from nacl.public import PrivateKey

from ledger.citizen import OperatorClient
from ledger.request_auth import RequestSigner


class ServiceClient:
    def __init__(self, operator_url: str, service_id: str, sign_seed: bytes, enc_key: PrivateKey):
        self.service_id = service_id
        self.signer = RequestSigner(f"service:{service_id}", sign_seed)
        self.enc_key = enc_key
        self.operator = OperatorClient(operator_url)
        self.operator.session.auth = self.signer

    def register(self, name: str, description: str, callback_url: str) -> dict:
        return self.operator.post(
            "/v1/services",
            {
                "id": self.service_id,
                "name": name,
                "description": description,
                "callback_url": callback_url,
                "sign_key": self.signer.public_key().hex(),
                "enc_key": bytes(self.enc_key.public_key).hex(),
            },
        )

    def request_consent(self, citizen: str, purposes: list[str], permissions: list[dict], duration_days: int, notice_url: str, notice_text: bytes) -> str:
        """Ask a citizen for consent; returns the request id."""
        body = {
            "citizen": citizen,
            "purposes": purposes,
            "permissions": permissions,
            "duration_days": duration_days,
            "notice_url": notice_url,
            "notice_sha256": hashlib.sha256(notice_text).hexdigest(),
        }
        return self.operator.post("/v1/consent-requests", body)["id"]

    def consent_request(self, request_id: str) -> dict:
        """The request's status, and its receipt once the citizen approved."""
        return self.operator.get(f"/v1/consent-requests/{request_id}").json()
