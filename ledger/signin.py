"""Sign in with MyData: a citizen proves to a service that they hold their citizen key.

The service makes a one-time challenge and shows it as a link (and QR code) to the
citizen's app. The app looks the service up in the operator's directory, asks the citizen,
and signs

    "mydata-signin/v1\\n" || JCS({challenge, citizen, service, callback})

with the citizen's Ed25519 request key, whose public key *is* the citizen id
(`citizen:<hex>`). It posts the answer to the callback URL the service registered with the
operator, never to an address taken from the link. The service accepts an answer once,
for a challenge it made in the last few minutes, bound to the browser session that asked.

Naming the service and its callback in what is signed means an answer given to one
service cannot sign the citizen in at another.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import rfc8785
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from .errors import MyDataError
from .keys import citizen_key_id, citizen_public_key

DOMAIN = b"mydata-signin/v1\n"
CHALLENGE_BYTES = 32


class SigninError(MyDataError, ValueError):
    """An answer that does not sign this citizen in (malformed, wrong key, wrong service)."""

    problem_type = "bad-request"


@dataclass(frozen=True)
class Answer:
    """A citizen's signed answer to one service's challenge."""

    challenge: str
    citizen: str
    signature: str  # base64 Ed25519 signature

    def document(self) -> dict[str, Any]:
        return {"type": "signin", "challenge": self.challenge, "citizen": self.citizen, "signature": self.signature}


def statement(challenge: str, citizen: str, service: str, callback: str) -> bytes:
    """The exact bytes a citizen signs."""
    return DOMAIN + rfc8785.dumps({"challenge": challenge, "citizen": citizen, "service": service, "callback": callback})


def answer(seed: bytes, challenge: str, service: str, callback: str) -> Answer:
    """Sign `challenge` for `service` (registered with `callback`) with the citizen's request key."""
    key = SigningKey(seed)
    citizen = citizen_key_id(bytes(key.verify_key))
    signed = key.sign(statement(challenge, citizen, service, callback)).signature
    return Answer(challenge, citizen, base64.b64encode(signed).decode())


def parse(body: object) -> Answer:
    """An Answer from a posted JSON body (SigninError names what is wrong)."""
    if not isinstance(body, dict) or body.get("type") != "signin":
        raise SigninError("not a sign-in answer")
    fields = [body.get(k) for k in ("challenge", "citizen", "signature")]
    texts = [f for f in fields if isinstance(f, str) and 0 < len(f) <= 200]
    if len(texts) != len(fields):
        raise SigninError("challenge, citizen and signature must be strings")
    return Answer(*texts)


def verify(ans: Answer, service: str, callback: str) -> str:
    """The citizen id that signed `ans` for this service; SigninError otherwise."""
    public = citizen_public_key(ans.citizen)
    if public is None:
        raise SigninError("not a MyData citizen id")
    try:
        signature = base64.b64decode(ans.signature, validate=True)
        VerifyKey(public).verify(statement(ans.challenge, ans.citizen, service, callback), signature)
    except (binascii.Error, ValueError, BadSignatureError):
        raise SigninError("the signature is not the citizen's for this service") from None
    return ans.citizen
