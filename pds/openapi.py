"""OpenAPI 3.1 description of the PDS, served at /openapi.json."""

from ledger.keys import CITIZEN_KEY_ID
from ledger.record import AREA_NAME

from . import bodies

_signed = [{"httpSignature": []}]
_citizen = {"name": "citizen", "in": "path", "required": True, "schema": {"type": "string", "pattern": CITIZEN_KEY_ID.pattern}}
_area = {"name": "area", "in": "path", "required": True, "schema": {"type": "string", "pattern": AREA_NAME.pattern}}
_problem = {"description": "RFC 9457 problem", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
_errors = {"400": _problem, "401": _problem, "403": _problem, "404": _problem, "409": _problem}

OPENAPI = {
    "openapi": "3.1.0",
    "info": {"title": "MyData personal data store", "version": "1"},
    "components": {
        "securitySchemes": {
            "httpSignature": {
                "type": "apiKey", "in": "header", "name": "Signature",
                "description": "RFC 9421 Ed25519 signature over @method, @path, @query and Content-Digest, with created and nonce",
            }
        },
        "schemas": {
            "Problem": {"type": "object", "required": ["type", "title", "status"],
                        "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"}}},

        },
    },
    "security": _signed,
    "paths": {
        "/pds/v1/citizens/{citizen}/areas": {"get": {"summary": "Areas with stored versions", "parameters": [_citizen], "responses": {"200": {"description": "area names"}, **_errors}}},
        "/pds/v1/citizens/{citizen}/areas/{area}/versions": {
            "get": {"summary": "Version history", "parameters": [_citizen, _area], "responses": {"200": {"description": "versions"}, **_errors}},
            "post": {"summary": "Add the next version (never overwrites)", "parameters": [_citizen, _area],
                     "requestBody": {"required": True, "content": {"application/json": {"schema": bodies.VERSION}}},
                     "responses": {"201": {"description": "stored"}, **_errors}},
        },
        "/pds/v1/citizens/{citizen}/areas/{area}/releases/{recipient}": {"get": {"summary": "Latest version and its data key wrapped for one recipient", "parameters": [_citizen, _area, {"name": "recipient", "in": "path", "required": True, "schema": {"type": "string"}}], "responses": {"200": {"description": "version with wrapped_key"}, **_errors}}},
        "/pds/v1/citizens/{citizen}/areas/{area}/versions/latest": {"get": {"summary": "Latest version", "parameters": [_citizen, _area], "responses": {"200": {"description": "version"}, **_errors}}},
        "/pds/v1/citizens/{citizen}/areas/{area}/versions/{version}": {"get": {"summary": "One version", "parameters": [_citizen, _area, {"name": "version", "in": "path", "required": True, "schema": {"type": "integer"}}], "responses": {"200": {"description": "version"}, **_errors}}},
        "/pds/v1/citizens/{citizen}/areas/{area}/keys/{key_version}": {"put": {"summary": "Store data keys wrapped for recipients", "parameters": [_citizen, _area, {"name": "key_version", "in": "path", "required": True, "schema": {"type": "integer"}}], "requestBody": {"required": True, "content": {"application/json": {"schema": bodies.WRAPPED_KEYS}}}, "responses": {"201": {"description": "stored"}, **_errors}}},
        "/pds/v1/citizens/{citizen}/areas/{area}/keys/{key_version}/{recipient}": {"get": {"summary": "A data key wrapped for one recipient", "parameters": [_citizen, _area, {"name": "key_version", "in": "path", "required": True, "schema": {"type": "integer"}}, {"name": "recipient", "in": "path", "required": True, "schema": {"type": "string"}}], "responses": {"200": {"description": "wrapped key"}, **_errors}}},
        "/pds/v1/citizens/{citizen}": {"delete": {"summary": "Erase all of a citizen's data (citizen only)", "parameters": [_citizen], "responses": {"204": {"description": "erased"}, **_errors}}},
    },
}
