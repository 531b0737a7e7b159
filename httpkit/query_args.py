"""Query parameters as the handlers need them, refused with a 400 problem otherwise."""

from __future__ import annotations

from collections.abc import Mapping

from .problems import bad_request

MAX_DIGITS = 15  # beyond any size, index or version this project has (and below 2**53)


def query_int(args: Mapping[str, str], name: str, default: int | None = None) -> int:
    """Query parameter `name` as a non-negative integer (`default` when absent, if given)."""
    raw = args.get(name)
    if raw is None and default is not None:
        return default
    if raw is None or not (raw.isascii() and raw.isdigit()) or len(raw) > MAX_DIGITS:  # "²".isdigit() is True
        raise bad_request(f"query parameter {name!r} must be a non-negative integer")
    return int(raw)
