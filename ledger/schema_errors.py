"""Turn the first JSON Schema violation into (field path, message), e.g. `work[0].startDate`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import jsonschema


def field_name(path: Iterable[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


def first_error(validator: jsonschema.protocols.Validator, instance: Any, prefix: tuple[Any, ...] = ()) -> tuple[str, str] | None:
    errors = sorted(validator.iter_errors(instance), key=lambda e: (len(e.path), list(map(str, e.path))))
    if not errors:
        return None
    err = errors[0]
    path = [*prefix, *err.path]
    instance_value: Any = err.instance
    if err.validator == "required":
        required: Any = err.validator_value
        missing = next(f for f in required if f not in instance_value)
        return field_name([*path, missing]), "is required"
    if err.validator == "additionalProperties":
        schema: Any = err.schema
        extra = sorted(set(instance_value) - set(schema.get("properties", {})))
        return field_name([*path, extra[0]]), "is not a known field"
    return field_name(path), err.message
