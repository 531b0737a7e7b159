"""Consent records: validation, RFC 8785 canonical form and salted commitments.

The chain and the public log only ever see `SHA-256(salt || canonical record)`
with a fresh 32-byte salt per record, so nothing personal or guessable leaves
the citizen's side.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
import rfc8785

from .errors import MyDataError
from .schema_errors import first_error

SCHEMA_VERSION = "mydata-consent/1"
AREA_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")  # as data_areas[].area in the schema
SALT_SIZE = 32


class RecordError(MyDataError, ValueError):
    """A consent record is invalid; the message names the field."""

    problem_type = "invalid-record"

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field


@cache
def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads(resources.files("ledger").joinpath("schemas/consent-record.schema.json").read_text())
    return jsonschema.Draft202012Validator(schema)


TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # UTC, whole seconds


def parse_time(value: str) -> datetime:
    return datetime.strptime(value, TIME_FORMAT).replace(tzinfo=UTC)


def format_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime(TIME_FORMAT)


def validate(record: Any) -> dict[str, Any]:
    """Return the record if valid, else raise RecordError naming the first bad field."""
    error = first_error(_validator(), record)
    if error:
        raise RecordError(*error)
    for name in ("granted_at", "expires_at"):
        try:
            parse_time(record[name])
        except ValueError:
            raise RecordError(name, "is not a valid UTC date-time") from None
    if parse_time(record["expires_at"]) <= parse_time(record["granted_at"]):
        raise RecordError("expires_at", "must be later than granted_at")
    checked: dict[str, Any] = record
    return checked


def canonical(record: dict[str, Any]) -> bytes:
    return rfc8785.dumps(validate(record))


def new_salt() -> bytes:
    return os.urandom(SALT_SIZE)


def commitment(record: dict[str, Any], salt: bytes) -> bytes:
    if len(salt) != SALT_SIZE:
        raise RecordError("salt", f"must be {SALT_SIZE} bytes")
    return hashlib.sha256(salt + canonical(record)).digest()


def expires_at_unix(record: dict[str, Any]) -> int:
    return int(parse_time(record["expires_at"]).timestamp())


def new_record(
    *,
    subject: str,
    controller_id: str,
    controller_name: str,
    purposes: list[str],
    data_areas: list[dict[str, str]],
    notice_url: str,
    notice_text: bytes,
    duration: timedelta,
    jurisdiction: str = "SE",
    withdrawal_method: str = "Citizen app, or ConsentRegistry.revoke with the per-consent key",
    now: datetime | None = None,
    agreement: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Build and validate a fresh record with a random 32-byte record id (= consent id),
    pinning `agreement` ({"version", "sha256"} of the service's data agreement) if given."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    pinned = {"agreement": agreement} if agreement else {}
    return validate(
        {
            "schema_version": SCHEMA_VERSION,
            "record_id": "0x" + secrets.token_hex(32),
            "subject": subject,
            "controller": {"id": controller_id, "name": controller_name},
            "purposes": purposes,
            "data_areas": data_areas,
            "lawful_basis": "dpv:Consent",
            "notice": {"url": notice_url, "sha256": hashlib.sha256(notice_text).hexdigest()},
            "jurisdiction": jurisdiction,
            "granted_at": format_time(now),
            "expires_at": format_time(now + duration),
            "withdrawal_method": withdrawal_method,
            **pinned,
        }
    )
