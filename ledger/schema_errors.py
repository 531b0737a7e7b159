"""Turn the first JSON Schema violation into (field path, message), e.g. `work[0].startDate`."""

from __future__ import annotations

import jsonschema


def field_name(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


def first_error(validator: jsonschema.protocols.Validator, instance, prefix: tuple = ()) -> tuple[str, str] | None:
    errors = sorted(validator.iter_errors(instance), key=lambda e: (len(e.path), list(map(str, e.path))))
    if not errors:
        return None
    err = errors[0]
    path = [*prefix, *err.path]
    if err.validator == "required":
        missing = next(f for f in err.validator_value if f not in err.instance)
        return field_name([*path, missing]), "is required"
    if err.validator == "additionalProperties":
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        return field_name([*path, extra[0]]), "is not a known field"
    return field_name(path), err.message
