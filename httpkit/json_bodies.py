"""Request bodies checked against JSON Schemas before any handler reads them: the same
schemas generate the services' OpenAPI documents, so what is documented is what is
enforced. A wrong body is a 400 problem naming its first wrong field."""

from __future__ import annotations

import jsonschema
from flask import request

from ledger.schema_errors import first_error

from .problems import bad_request

_validators: dict[int, jsonschema.Draft202012Validator] = {}


def json_body(schema: dict | None = None) -> dict:
    """The request's JSON object, checked against `schema` (a module-level constant)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise bad_request("request body must be a JSON object")
    body = _whole_numbers(body)
    if schema is not None:
        if id(schema) not in _validators:
            _validators[id(schema)] = jsonschema.Draft202012Validator(schema)
        error = first_error(_validators[id(schema)], body)
        if error:
            field, message = error
            raise bad_request(f"{field} {message}" if message.startswith("is ") else f"{field}: {message}", field=field)
    return body


def _whole_numbers(value):
    """JSON has one number type: 2e8 is the integer 200000000 to JSON Schema, and must be an
    int to the code behind it (the EVM ABI refuses a float)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(v) for v in value]
    return value
