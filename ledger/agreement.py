"""Data agreements: what a service does with the data it asks for, versioned.

A service publishes an agreement through the operator — purposes, lawful basis, the areas
it reads or writes, how long it keeps what it read, who else receives it, where it is
processed, in W3C DPV terms (schemas/data-agreement.schema.json) — and each publication
that changes anything gets the next version. A consent request may name a version; the
record the citizen signs then pins it as `{"version", "sha256"}`, the SHA-256 of the
agreement's RFC 8785 form, which the citizen recomputes from the document shown (so the
operator cannot show one agreement and pin another).

A consent stays on the version it pinned: a later version never applies to it. When a new
version widens what the service does (`widening`), the service must ask again and the
citizen sees what changed; nothing moves a consent silently.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
import rfc8785

from .errors import MyDataError
from .schema_errors import first_error

AGREEMENT_TYPE = "mydata-data-agreement/1"


class AgreementError(MyDataError, ValueError):
    """An agreement is malformed, or does not match the hash pinned to it."""

    problem_type = "invalid-agreement"


@cache
def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads(resources.files("ledger").joinpath("schemas/data-agreement.schema.json").read_text())
    return jsonschema.Draft202012Validator(schema)


def validate(agreement: Any) -> dict[str, Any]:
    """The agreement if it matches the schema; AgreementError naming the first bad field."""
    error = first_error(_validator(), agreement)
    if error is not None:
        raise AgreementError(f"{error[0]}: {error[1]}")
    result: dict[str, Any] = agreement
    return result


def digest(agreement: dict[str, Any]) -> str:
    """SHA-256 (hex) of the agreement's RFC 8785 canonical JSON: what a record pins."""
    return hashlib.sha256(rfc8785.dumps(agreement)).hexdigest()


def pin(agreement: dict[str, Any]) -> dict[str, Any]:
    """The `agreement` member of a consent record given under this agreement."""
    return {"version": agreement["version"], "sha256": digest(agreement)}


def check_pinned(agreement: dict[str, Any], pinned: dict[str, Any]) -> None:
    """AgreementError unless `agreement` is the very document `pinned` names."""
    if pin(validate(agreement)) != pinned:
        raise AgreementError(f"the agreement shown is not version {pinned['version']} with SHA-256 {pinned['sha256']}")


def same_terms(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two agreements say the same (their versions aside)."""
    return {**a, "version": 0} == {**b, "version": 0}


def widening(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What `new` lets the service do that `old` did not, in plain words (empty: nothing)."""
    changes = [f"a new purpose: {p}" for p in new["purposes"] if p not in old["purposes"]]
    changes += [f"{a['access']} {a['area']}" for a in new["data_areas"] if a not in old["data_areas"]]
    changes += [f"a new recipient: {r}" for r in new["recipients"] if r not in old["recipients"]]
    if new["retention_days"] > old["retention_days"]:
        changes.append(f"keeps what it reads {_kept(new['retention_days'])}, not {_kept(old['retention_days'])}")
    if new["jurisdiction"] != old["jurisdiction"]:
        changes.append(f"processes data in {new['jurisdiction']} instead of {old['jurisdiction']}")
    if new["lawful_basis"] != old["lawful_basis"]:
        changes.append(f"another lawful basis: {new['lawful_basis']}")
    return changes


def _kept(days: int) -> str:
    return "only while the consent lasts" if days == 0 else f"for {days} days"


def covers(agreement: dict[str, Any], purposes: list[str], permissions: list[dict[str, str]]) -> str | None:
    """Why a request for `purposes` and `permissions` goes beyond the agreement (None: it does not)."""
    beyond = [p for p in purposes if p not in agreement["purposes"]]
    if beyond:
        return f"purpose {beyond[0]} is not in agreement version {agreement['version']}"
    more = [p for p in permissions if p not in agreement["data_areas"]]
    if more:
        return f"{more[0]['access']} {more[0]['area']} is not in agreement version {agreement['version']}"
    return None
