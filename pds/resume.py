"""The CV data model: a JSON Resume document whose sections are the consent areas.

Writers (the citizen's side, services with write consent) validate a section before
sealing it; the PDS cannot, as it never sees plaintext. A bad section is refused with
the field named, e.g. `work[0].startDate`.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

import jsonschema

from ledger.errors import MyDataError
from ledger.schema_errors import first_error


class ResumeError(MyDataError, ValueError):
    problem_type = "invalid-resume"

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field


@cache
def _schemas() -> dict[str, jsonschema.protocols.Validator]:
    doc = json.loads(resources.files("pds").joinpath("schemas/resume-areas.schema.json").read_text())
    return {area: jsonschema.Draft202012Validator(schema) for area, schema in doc["$defs"].items()}


AREAS = tuple(sorted(_schemas()))


def validate_area(area: str, document) -> None:
    validator = _schemas().get(area)
    if validator is None:
        raise ResumeError("area", f"{area!r} is not a CV section ({', '.join(AREAS)})")
    error = first_error(validator, document, prefix=(area,))
    if error:
        raise ResumeError(*error)


def split_resume(resume: dict) -> dict:
    """Validate a whole JSON Resume and return its sections by area."""
    if not isinstance(resume, dict):
        raise ResumeError("(resume)", "must be a JSON object")
    for area, section in resume.items():
        if area in ("$schema", "meta"):
            continue
        validate_area(area, section)
    return {a: s for a, s in resume.items() if a in AREAS}
