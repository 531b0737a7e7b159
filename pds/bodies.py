"""JSON Schemas of the PDS's request bodies: validated by its routes and published in its
OpenAPI document (openapi.py)."""

from __future__ import annotations

from ledger.data_shapes import ENVELOPE, VERSION_NUMBER

VERSION = {
    "type": "object",
    "required": ["version", "key_version", "envelope"],
    "properties": {"version": VERSION_NUMBER, "key_version": VERSION_NUMBER, "envelope": ENVELOPE},
    "additionalProperties": False,
}
WRAPPED_KEYS = {
    "type": "object",
    "required": ["wrapped"],
    "properties": {"wrapped": {"type": "object", "minProperties": 1, "maxProperties": 256, "additionalProperties": {"type": "string", "maxLength": 512}}},
    "additionalProperties": False,
}
