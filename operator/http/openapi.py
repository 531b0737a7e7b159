"""OpenAPI 3.1 description of the operator, served at /openapi.json, generated from the
same JSON Schemas the handlers validate against (schemas.py)."""

from __future__ import annotations

from ledger.keys import CITIZEN_KEY_ID
from ledger.record import AREA_NAME

from . import schemas

_PARAMS = {  # name in the routes' documentation -> (OpenAPI parameter name, its schema)
    "citizen": ("citizen", {"type": "string", "pattern": CITIZEN_KEY_ID.pattern}),
    "area": ("area", {"type": "string", "pattern": AREA_NAME.pattern}),
    "consent_id": ("id", {"type": "string", "pattern": schemas.HEX32_0X}),
    "request_id": ("id", {"type": "string", "pattern": "^req_[0-9a-f]{32}$"}),
    "service_id": ("id", {"type": "string", "pattern": schemas.SERVICE_ID}),
    "path": ("path", {"type": "string", "maxLength": 200}),
    "size": ("size", {"type": "integer", "minimum": 0}),
    "version": ("version", schemas.AGREEMENT_VERSION),
}
_TEXT = {"text/plain": {"schema": {"type": "string"}}}


def _op(summary: str, *params: str, body: dict | None = None, ok: str = "200", returns: str | None = "Object",
        public: bool = False, query: dict | None = None, text: bool = False) -> dict:
    content = _TEXT if text else {"application/json": {"schema": {"$ref": f"#/components/schemas/{returns}"}}}
    out: dict = {
        "summary": summary,
        "parameters": [{"name": _PARAMS[p][0], "in": "path", "required": True, "schema": _PARAMS[p][1]} for p in params]
        + [{"name": q, "in": "query", "required": req, "schema": {"type": "integer", "minimum": 0}} for q, req in (query or {}).items()],
        "responses": {ok: {"description": "success", **({"content": content} if text or returns else {})}, "default": {"$ref": "#/components/responses/Problem"}},
    }
    if body is not None:
        out["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if public:
        out["security"] = []
    return out


OPENAPI = {
    "openapi": "3.1.0",
    "info": {"title": "MyData consent ledger operator", "version": "1"},
    "security": [{"httpSignature": []}],
    "components": {
        "securitySchemes": {
            "httpSignature": {
                "type": "apiKey", "in": "header", "name": "Signature",
                "description": "RFC 9421 Ed25519 signature over @method, @path, @query and Content-Digest with created and nonce; "
                               "key ids service:<id> or citizen:<hex Ed25519 key>",
            }
        },
        "responses": {
            "Problem": {
                "description": "RFC 9457 problem details with a stable type",
                "content": {"application/problem+json": {"schema": schemas.PROBLEM}},
            }
        },
        "schemas": {**schemas.RESPONSES, "ConsentRecord": schemas.CONSENT_RECORD},
    },
    "paths": {
        "/log/checkpoint": {"get": _op("Latest signed checkpoint (C2SP tlog-checkpoint)", public=True, text=True)},
        "/log/checkpoints/{size}": {"get": _op("The checkpoint signed at a size, with its witnesses' cosignatures once anchored", "size", public=True, text=True)},
        "/log/vkey": {"get": _op("The log's signed-note verifier key", public=True, text=True)},
        "/log/tile/{path}": {"get": _op("C2SP tlog-tiles hash tile or entry bundle", "path", public=True, text=True)},
        "/log/anchors": {"get": _op("Checkpoints anchored on chain", public=True, returns="Array")},
        "/log/proof/inclusion": {"get": _op("Inclusion proof", public=True, returns="Proof", query={"index": True, "size": False})},
        "/log/proof/consistency": {"get": _op("Consistency proof", public=True, returns="Proof", query={"old": True, "new": False})},
        "/metrics": {"get": _op("Counters in the Prometheus text format (refused and rate-limited requests)", public=True, text=True)},
        "/ledger/info": {"get": _op("Chain, contract, EIP-712 domain and types, log key", public=True)},
        "/ledger/grants": {"post": _op("Relay EIP-712-signed grants", body=schemas.GRANTS, ok="201", returns="Relayed", public=True)},
        "/ledger/revocations": {"post": _op("Relay an EIP-712-signed revocation", body=schemas.REVOCATION, ok="201", returns="Relayed", public=True)},
        "/ledger/consents/{id}": {"get": _op("On-chain status and log entries of a consent", "consent_id", public=True)},
        "/ledger/consents/{id}/evidence": {"get": _op("Receipt evidence: entry, tlog-proof, anchor", "consent_id", public=True)},
        "/ledger/anchor": {"post": _op("Anchor the latest checkpoint now (admin bearer token)", public=True)},
        "/v1/services": {"post": _op("Register or re-register a service", body=schemas.SERVICE_REGISTRATION, ok="201", returns="ServiceRegistered")},
        "/v1/services/{id}": {"get": _op("A service's public description and encryption key", "service_id", returns="Service", public=True)},
        "/v1/services/{id}/agreements": {
            "post": _op("Publish the service's data agreement as its next version (same terms: the latest)", "service_id", body=schemas.AGREEMENT_TERMS, ok="201", returns="Agreement"),
            "get": _op("Every version of a service's data agreement", "service_id", returns="Agreements", public=True),
        },
        "/v1/services/{id}/agreements/{version}": {"get": _op("One version of a service's data agreement", "service_id", "version", returns="Agreement", public=True)},
        "/v1/consent-requests": {"post": _op("A service asks a citizen for consent", body=schemas.CONSENT_REQUEST, ok="201", returns="RequestCreated")},
        "/v1/consent-requests/{id}": {"get": _op("A consent request, with its receipt once approved", "request_id", returns="ConsentRequest")},
        "/v1/consent-requests/{id}/receipt": {
            "delete": _op("The service stored the receipt: the operator drops its copy", "request_id", ok="204", returns=None)
        },
        "/v1/consent-requests/{id}/approve": {
            "post": _op("The citizen approves (record, salt, signed grant)", "request_id", body=schemas.APPROVAL, ok="201", returns="Decision")
        },
        "/v1/consent-requests/{id}/refuse": {"post": _op("The citizen refuses", "request_id", body=schemas.REFUSAL, returns="Decision")},
        "/v1/citizens/{citizen}/consent-requests": {"get": _op("The citizen's pending consent requests", "citizen", returns="ConsentRequests")},
        "/v1/citizens/{citizen}/history": {"get": _op("Access history with inclusion proofs", "citizen", returns="History")},
        "/v1/citizens/{citizen}/report": {"get": _op("GDPR Art 15 report: recipients, purposes, times, refusals", "citizen")},
        "/v1/citizens/{citizen}": {"delete": _op("GDPR erasure of everything linking the citizen (after revoking)", "citizen")},
        "/v1/citizens/{citizen}/areas/{area}": {
            "get": _op("Release an area to a consented service (never older than min_version)", "citizen", "area", returns="Release", query={"min_version": False})
        },
        "/v1/citizens/{citizen}/areas/{area}/versions": {
            "post": _op("Write an area under write consent", "citizen", "area", body=schemas.VERSION_WRITE, ok="201", returns="Written")
        },
        "/v1/citizens/{citizen}/areas/{area}/versions/next": {
            "get": _op("Next version, key version and the citizen's X25519 key, for writers", "citizen", "area", returns="NextVersion")
        },
    },
}
