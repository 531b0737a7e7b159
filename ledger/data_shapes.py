"""JSON Schemas of the shapes the operator and the PDS both accept: a sealed CV version's
envelope and its version numbers (each service adds its own body around them)."""

from __future__ import annotations

from .record import AREA_NAME

MAX_VERSION = 2**53 - 1  # stored as SQLite INTEGER, read by JavaScript clients
VERSION_NUMBER = {"type": "integer", "minimum": 1, "maximum": MAX_VERSION}
ENVELOPE = {
    "type": "object",
    "required": ["area", "version", "ciphertext", "writer", "signature"],
    "properties": {
        "area": {"type": "string", "pattern": AREA_NAME.pattern}, "version": VERSION_NUMBER,
        "ciphertext": {"type": "string"}, "writer": {"type": "string"}, "signature": {"type": "string"},
    },
}
