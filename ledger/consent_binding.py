"""The citizen's own authorization of a consent's key, kept off chain.

On chain, a grant is signed by a key derived for that one consent, so two consents of a
citizen share no value there. Nothing on chain ties such a key to the citizen, though:
whoever relays grants (the operator first of all) could make up a key and sign a consent
the citizen never gave. So the citizen's long-term key (the Ed25519 key behind their
`citizen:` id, which the operator, the PDS and every service they signed in to know)
signs a statement naming the consent id, the per-consent address, the commitment and the
service. The statement travels with the grant, in the receipt and in the citizen's own
copy; never on chain and never in the public log.

Statement: the RFC 8785 canonical JSON of
`{"type": "mydata-consent-authorization/v1", "consent_id", "signer", "commitment", "service"}`
(consent id and commitment as lowercase 0x-hex, the signer as its EIP-55 address).
Authorization: `{"citizen": "citizen:<hex key>", "service": id, "signature": base64}`.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import rfc8785
from eth_utils.address import to_checksum_address
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from .errors import MyDataError
from .keys import citizen_public_key

STATEMENT_TYPE = "mydata-consent-authorization/v1"


class BindingError(MyDataError):
    """A consent's key is not authorized by the citizen it claims (or not by the one expected)."""

    problem_type = "invalid-authorization"


def statement(consent_id: str, signer: str, commitment: str, service: str) -> bytes:
    """The bytes the citizen signs for one consent."""
    return rfc8785.dumps(
        {
            "type": STATEMENT_TYPE,
            "consent_id": consent_id.lower(),
            "signer": to_checksum_address(signer),
            "commitment": commitment.lower(),
            "service": service,
        }
    )


def authorize(citizen_id: str, seed: bytes, consent_id: str, signer: str, commitment: str, service: str) -> dict[str, str]:
    """The citizen's authorization of `signer` (the per-consent address) for this consent."""
    signature = SigningKey(seed).sign(statement(consent_id, signer, commitment, service)).signature
    return {"citizen": citizen_id, "service": service, "signature": base64.b64encode(signature).decode()}


def verify(authorization: Any, consent_id: str, signer: str, commitment: str, citizen: str | None = None, service: str | None = None) -> str:
    """The citizen id whose key authorized `signer` for this consent; BindingError if the
    authorization is missing, malformed or forged, or names another citizen or service than
    the ones expected."""
    if not isinstance(authorization, dict) or not all(isinstance(authorization.get(k), str) for k in ("citizen", "service", "signature")):
        raise BindingError("the consent carries no citizen's authorization of its key")
    key = citizen_public_key(authorization["citizen"])
    if key is None:
        raise BindingError(f"{authorization['citizen']!r} is not a citizen id")
    if citizen is not None and authorization["citizen"] != citizen:
        raise BindingError(f"the consent is authorized by {authorization['citizen']}, not by {citizen}")
    if service is not None and authorization["service"] != service:
        raise BindingError(f"the consent is authorized for {authorization['service']!r}, not for {service!r}")
    try:
        VerifyKey(key).verify(statement(consent_id, signer, commitment, authorization["service"]), base64.b64decode(authorization["signature"], validate=True))
    except (BadSignatureError, binascii.Error, ValueError):
        raise BindingError(f"the citizen's authorization does not verify for consent {consent_id.lower()} and key {signer}") from None
    return str(authorization["citizen"])
