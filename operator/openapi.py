"""OpenAPI 3.1 description of the operator, served at /openapi.json."""


def _op(summary: str, *params: str, body: bool = False, ok: str = "200", public: bool = False) -> dict:
    out = {
        "summary": summary,
        "parameters": [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in params],
        "responses": {ok: {"description": "success"}, "default": {"$ref": "#/components/responses/Problem"}},
    }
    if body:
        out["requestBody"] = {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
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
                "content": {"application/problem+json": {"schema": {"type": "object", "required": ["type", "title", "status"],
                            "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"}}}}},
            }
        },
    },
    "paths": {
        "/log/checkpoint": {"get": _op("Latest signed checkpoint (C2SP tlog-checkpoint)", public=True)},
        "/log/vkey": {"get": _op("The log's signed-note verifier key", public=True)},
        "/log/tile/{path}": {"get": _op("C2SP tlog-tiles hash tile or entry bundle", "path", public=True)},
        "/log/anchors": {"get": _op("Checkpoints anchored on chain", public=True)},
        "/log/proof/inclusion": {"get": _op("Inclusion proof (query: index, size)", public=True)},
        "/log/proof/consistency": {"get": _op("Consistency proof (query: old, new)", public=True)},
        "/metrics": {"get": _op("Counters in the Prometheus text format (refused and rate-limited requests)", public=True)},
        "/ledger/info": {"get": _op("Chain, contract, EIP-712 domain and types, log key", public=True)},
        "/ledger/grants": {"post": _op("Relay EIP-712-signed grants", body=True, ok="201", public=True)},
        "/ledger/revocations": {"post": _op("Relay an EIP-712-signed revocation", body=True, ok="201", public=True)},
        "/ledger/consents/{id}": {"get": _op("On-chain status and log entries of a consent", "id", public=True)},
        "/ledger/consents/{id}/evidence": {"get": _op("Receipt evidence: entry, tlog-proof, anchor", "id", public=True)},
        "/ledger/anchor": {"post": _op("Anchor the latest checkpoint now (admin bearer token)", public=True)},
        "/v1/services": {"post": _op("Register or re-register a service", body=True, ok="201")},
        "/v1/services/{id}": {"get": _op("A service's public description and encryption key", "id", public=True)},
        "/v1/consent-requests": {"post": _op("A service asks a citizen for consent", body=True, ok="201")},
        "/v1/consent-requests/{id}": {"get": _op("A consent request, with its receipt once approved", "id")},
        "/v1/consent-requests/{id}/approve": {"post": _op("The citizen approves (record, salt, signed grant)", "id", body=True, ok="201")},
        "/v1/consent-requests/{id}/refuse": {"post": _op("The citizen refuses", "id", body=True)},
        "/v1/citizens/{citizen}/consent-requests": {"get": _op("The citizen's pending consent requests", "citizen")},
        "/v1/citizens/{citizen}/history": {"get": _op("Access history with inclusion proofs", "citizen")},
        "/v1/citizens/{citizen}/report": {"get": _op("GDPR Art 15 report: recipients, purposes, times, refusals", "citizen")},
        "/v1/citizens/{citizen}": {"delete": _op("GDPR erasure of everything linking the citizen (after revoking)", "citizen")},
        "/v1/citizens/{citizen}/areas/{area}": {"get": _op("Release an area to a consented service", "citizen", "area")},
        "/v1/citizens/{citizen}/areas/{area}/versions": {"post": _op("Write an area under write consent", "citizen", "area", body=True, ok="201")},
        "/v1/citizens/{citizen}/areas/{area}/versions/next": {"get": _op("Next version, key version and the citizen's X25519 key, for writers", "citizen", "area")},
    },
}
