"""JSON Schemas of the operator's request and response bodies: the one source for both
the handlers' validation (`http_util.json_body`) and the OpenAPI document (openapi.py).

Shapes live here (types, patterns, sizes, required fields); meaning stays in the handlers
(a record that commits to its grant, a scope within what was requested).
"""

from __future__ import annotations

import json
from importlib import resources

from ledger.data_shapes import ENVELOPE, VERSION_NUMBER
from ledger.keys import CITIZEN_KEY_ID
from ledger.record import AREA_NAME

MAX_BATCH = 100  # grants per relay
MAX_DAYS = 3650

HEX32 = "^[0-9a-f]{64}$"
HEX32_0X = "^0x[0-9a-fA-F]{64}$"
SIGNATURE = "^0x[0-9a-fA-F]{130}$"  # a 65-byte ECDSA signature
URL = r"^https?://\S+$"
SERVICE_ID = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


def _text(max_len: int = 500, pattern: str | None = None) -> dict:
    out: dict = {"type": "string", "minLength": 1, "maxLength": max_len}
    if pattern:
        out["pattern"] = pattern
    return out


def _object(required: dict, optional: dict | None = None, extra: bool = False) -> dict:
    return {"type": "object", "required": list(required), "properties": {**required, **(optional or {})}, "additionalProperties": extra}


UNIX_TIME = {"type": "integer", "minimum": 1, "maximum": 2**64 - 1}
AGREEMENT_VERSION = {"type": "integer", "minimum": 1, "maximum": 1_000_000}
PERMISSION = _object({"area": _text(64, AREA_NAME.pattern), "access": {"enum": ["read", "write"]}})
PERMISSIONS = {"type": "array", "minItems": 1, "maxItems": 64, "items": PERMISSION}
CONSENT_RECORD = json.loads(resources.files("ledger").joinpath("schemas/consent-record.schema.json").read_text())

# ---- request bodies --------------------------------------------------------------
SERVICE_REGISTRATION = _object(
    {"id": _text(64, SERVICE_ID), "name": _text(200), "description": _text(), "callback_url": _text(500, URL),
     "sign_key": _text(64, HEX32), "enc_key": _text(64, HEX32)},
    {"notify_url": _text(500, URL)},  # where the operator POSTs signed "consent ended" notifications (operator/notify)
)
CONSENT_REQUEST = _object(
    {"citizen": _text(80, CITIZEN_KEY_ID.pattern),
     "purposes": {"type": "array", "minItems": 1, "maxItems": 32, "items": _text()},
     "permissions": PERMISSIONS,
     "duration_days": {"type": "integer", "minimum": 1, "maximum": MAX_DAYS},
     "notice_url": _text(500, URL), "notice_sha256": _text(64, HEX32)},
    {"agreement_version": AGREEMENT_VERSION},  # the version of the service's data agreement it asks under (ledger/agreement.py)
)
BASE64_SIGNATURE = "^[A-Za-z0-9+/]{86}==$"  # a 64-byte Ed25519 signature
AUTHORIZATION = _object({"citizen": _text(80, CITIZEN_KEY_ID.pattern), "service": _text(64, SERVICE_ID), "signature": _text(88, BASE64_SIGNATURE)})
GRANT = _object(
    {"consent_id": _text(66, HEX32_0X), "commitment": _text(66, HEX32_0X), "expires_at": UNIX_TIME, "signature": _text(132, SIGNATURE),
     "authorization": AUTHORIZATION}  # the citizen's own signature over the per-consent key (ledger.consent_binding)
)
APPROVAL = _object(
    {"record": {"type": "object"},  # checked against CONSENT_RECORD by ledger.record.validate (named fields)
     "salt": _text(64, HEX32), "grant": GRANT, "citizen_enc_key": _text(64, HEX32)}
)
REFUSAL = _object({})
AGREEMENT_TERMS = _object(  # a data agreement as a service publishes it; the operator adds type, service and version
    {"purposes": {"type": "array", "minItems": 1, "maxItems": 32, "uniqueItems": True, "items": _text()},
     "data_areas": {**PERMISSIONS, "uniqueItems": True},
     "retention_days": {"type": "integer", "minimum": 0, "maximum": 36500},
     "recipients": {"type": "array", "maxItems": 32, "uniqueItems": True, "items": _text(200)},
     "jurisdiction": _text(2, "^[A-Z]{2}$")},
    {"lawful_basis": {"enum": ["dpv:Consent", "dpv:ExplicitlyExpressedConsent"]}},
)
GRANTS = _object({"grants": {"type": "array", "minItems": 1, "maxItems": MAX_BATCH, "items": GRANT}})
REVOCATION = _object({"consent_id": _text(66, HEX32_0X), "signature": _text(132, SIGNATURE)})
VERSION_WRITE = _object(
    {"version": VERSION_NUMBER, "key_version": VERSION_NUMBER, "envelope": ENVELOPE},
    {"wrapped": {"type": "object", "maxProperties": 256, "additionalProperties": {"type": "string", "maxLength": 512}}},
)

# ---- response bodies -------------------------------------------------------------
PROBLEM = {"type": "object", "required": ["type", "title", "status"],
           "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"}}}
_ID_STATUS = _object({"id": {"type": "string"}, "status": {"type": "string"}}, extra=True)
RESPONSES = {
    "ServiceRegistered": _object({"id": {"type": "string"}}),
    "Service": _object({k: {"type": "string"} for k in ("id", "name", "description", "callback_url", "sign_key", "enc_key")}),
    "RequestCreated": _ID_STATUS,
    "ConsentRequest": _object(
        {"id": {"type": "string"}, "citizen": {"type": "string"}, "purposes": {"type": "array"}, "permissions": {"type": "array"},
         "duration_days": {"type": "integer"}, "notice_url": {"type": ["string", "null"]}, "notice_sha256": {"type": ["string", "null"]},
         "status": {"enum": ["pending", "approved", "refused"]}, "consent_id": {"type": ["string", "null"]},
         "receipt": {"type": ["object", "null"]}, "service": {"type": "object"}},
        {"agreement": {"type": ["object", "null"]}, "granted": {"type": ["array", "null"]}},
    ),
    "ConsentRequests": {"type": "array", "items": {"$ref": "#/components/schemas/ConsentRequest"}},
    "Decision": _ID_STATUS,
    "Relayed": _object({"tx": {"type": "string"}, "block": {"type": "integer"}, "consents": {"type": "array"}}),
    "Proof": {"type": "object", "required": ["proof"], "properties": {"proof": {"type": "array", "items": {"type": "string"}}}},
    "Release": _object(
        {"consent_id": {"type": "string"}, "version": {"type": "integer"}, "key_version": {"type": "integer"},
         "envelope": {"type": "object"}, "wrapped_key": {"type": "string"}, "checked_block": {"type": "integer"}}
    ),
    "Written": _object({"consent_id": {"type": "string"}, "version": {"type": "integer"}, "checked_block": {"type": "integer"}}),
    "NextVersion": _object({"version": {"type": "integer"}, "key_version": {"type": "integer"}, "citizen_enc_key": {"type": "string"}}),
    "History": {"type": "object", "required": ["entries", "log"], "properties": {"entries": {"type": "array"}}},
    "Agreement": _object({"version": {"type": "integer"}, "sha256": {"type": "string"}, "agreement": {"type": "object"}}, {"widens": {"type": "array"}}),
    "Agreements": {"type": "array", "items": {"$ref": "#/components/schemas/Agreement"}},
    "Object": {"type": "object"},
    "Array": {"type": "array"},
}
