"""CV sections as forms, built from the JSON Resume schema the PDS validates against.

Each section is a list of items (work, education, skills, …) or one object (basics); each
item's fields come in the schema's order (JSON Resume's), as the input their schema asks
for: a date input for dates, a URL input for links, a text area for a summary, one line
per entry for lists (highlights, keywords, courses). Fields the form cannot show (nested
lists of objects such as basics.profiles) are kept as they were.

The form posts `count`, then `i.field` per item; `action` is save, add, remove-i or up-i.
Adding, removing and moving re-render the unsaved section; saving validates it and names
any field that is wrong in plain words.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from werkzeug.datastructures import MultiDict

from httpkit.http_limits import MAX_DEPTH, nests_deeper_than

LONG_TEXT = {"summary", "description", "reference"}
LABELS = {"name": "Name", "studyType": "Degree", "startDate": "Start", "endDate": "End", "releaseDate": "Released", "url": "Web address", "countryCode": "Country code"}
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Field:
    name: str  # a dotted path inside the item: "startDate", "location.city"
    label: str
    kind: str  # text, long, date, url, email, lines


@cache
def _schema() -> dict[str, Any]:
    return dict(json.loads(resources.files("pds").joinpath("schemas/resume-areas.schema.json").read_text())["$defs"])


def is_list(area: str) -> bool:
    return bool(_schema()[area].get("type") == "array")


def fields(area: str) -> list[Field]:
    """The item fields of a section, in the schema's order."""
    spec = _schema()[area]
    return _fields((spec["items"] if is_list(area) else spec)["properties"], "")


def _fields(properties: dict[str, Any], prefix: str) -> list[Field]:
    out: list[Field] = []
    for name, spec in properties.items():
        path = prefix + name
        if spec.get("type") == "object":
            out += _fields(spec.get("properties", {}), path + ".")
        elif spec.get("type") == "array" and spec.get("items", {}).get("type") == "string":
            out.append(Field(path, _label(name) + " (one per line)", "lines"))
        elif spec.get("type") == "string":
            out.append(Field(path, _label(name), _kind(name, spec)))
    return out


def _kind(name: str, spec: dict[str, Any]) -> str:
    if "ISO 8601" in spec.get("description", ""):
        return "date"
    if name in ("url", "image"):
        return "url"
    if name == "email":
        return "email"
    return "long" if name in LONG_TEXT else "text"


def _label(name: str) -> str:
    return LABELS.get(name) or re.sub(r"(?<!^)(?=[A-Z])", " ", name).capitalize()


def items_of(area: str, value: Any) -> list[dict[str, Any]]:
    """The section's items as the form shows them (one item for basics)."""
    if value is None:
        return []
    return [v for v in value if isinstance(v, dict)] if is_list(area) else [value]


def value_of(item: dict[str, Any], field: Field) -> str:
    """The text a field's input shows for an item."""
    value: Any = item
    for part in field.name.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if field.kind == "lines":
        return "\n".join(value) if isinstance(value, list) else ""
    if field.kind == "date" and isinstance(value, str) and not DATE.match(value):
        return ""  # "2019" or "2019-02": a date input cannot show it; the item keeps it unless edited
    return value if isinstance(value, str) else ""


MAX_ITEMS = 200


def read_form(area: str, form: MultiDict[str, str]) -> list[dict[str, Any]]:
    """The items the form holds, each over the item it was rendered from (`i._stored`), so
    fields the form does not show, or dates it cannot show, are kept; empty fields are left out."""
    shown = {f.name.split(".")[0] for f in fields(area)}
    items = []
    for i in range(min(_int(form.get("count")), MAX_ITEMS)):
        base = _stored(form.get(f"{i}._stored"))
        item = {k: v for k, v in base.items() if k not in shown}
        for field in fields(area):
            _put(item, field, form.get(f"{i}.{field.name}", ""), base)
        items.append(item)
    return items


def _int(text: str | None) -> int:
    return int(text) if text and text.isdigit() else 0


def _stored(text: str | None) -> dict[str, Any]:
    if not text or nests_deeper_than(text.encode(), MAX_DEPTH):
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _put(item: dict[str, Any], field: Field, text: str, base: dict[str, Any]) -> None:
    if field.kind == "lines":
        value: Any = [line.strip() for line in text.splitlines() if line.strip()]
    else:
        value = text.strip()
    parts = field.name.split(".")
    if not value:
        if field.kind == "date" and len(parts) == 1 and isinstance(base.get(parts[0]), str) and not DATE.match(base[parts[0]]):
            item[parts[0]] = base[parts[0]]  # a year or a month the date input could not show
        return
    target = item
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value


def section_value(area: str, items: list[dict[str, Any]]) -> Any:
    """What is stored: the list of items, or basics' one object."""
    return items if is_list(area) else (items[0] if items else {})


def apply_action(action: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items after add, remove-i or up-i (save changes nothing here)."""
    items = list(items)
    verb, _, index = action.partition("-")
    if verb == "add":
        items.append({})
    elif verb in ("remove", "up") and index.isdigit() and int(index) < len(items):
        i = int(index)
        if verb == "remove":
            del items[i]
        elif i > 0:
            items[i - 1], items[i] = items[i], items[i - 1]
    return items


PLAIN = [
    (re.compile(r"does not match '\^\\\\d\{4\}"), "must be a date (year, year and month, or a full date)"),
    (re.compile(r"does not match '\^https\?"), "must be a web address starting with http:// or https://"),
    (re.compile(r"is too long"), "is too long"),
    (re.compile(r"^is required$"), "must be filled in"),
    (re.compile(r"is not of type 'string'"), "must be text"),
    (re.compile(r"does not match '\^\[A-Z\]\{2\}\$'"), "must be two capital letters, like SE"),
]


def plain_words(problem: str) -> str:
    """A validation problem as a person would say it (the schema's words if we have none)."""
    return next((words for pattern, words in PLAIN if pattern.search(problem)), problem)


def error_at(area: str, error_field: str, problem: str) -> tuple[int, str, str]:
    """(item index, field path, plain words) of a ResumeError on a field such as
    `work[0].startDate`."""
    m = re.match(rf"^{re.escape(area)}(?:\[(\d+)\])?\.?(.*)$", error_field)
    index, path = (int(m.group(1) or 0), m.group(2)) if m else (0, "")
    return index, path, plain_words(problem)


def item_line(area: str, item: dict[str, Any]) -> str:
    """One readable line for an item, in the order people read a CV: the role before the
    place, then the dates ("Barista, Svenska Kaffeskolan (2015-06-01 – 2019-02-28)")."""
    g = lambda k: str(item.get(k) or "")  # noqa: E731
    dates = f" ({g('startDate')} – {g('endDate') or 'now'})" if g("startDate") else ""
    lines = {
        "work": ", ".join(filter(None, [g("position"), g("name")])) + dates,
        "volunteer": ", ".join(filter(None, [g("position"), g("organization")])) + dates,
        "education": ", ".join(filter(None, [" ".join(filter(None, [g("studyType"), g("area")])), g("institution")])) + dates,
        "skills": g("name") + (f": {', '.join(item.get('keywords') or [])}" if item.get("keywords") else ""),
        "certificates": g("name") + " — " + ", ".join(filter(None, [g("issuer"), g("date")])),
        "languages": ", ".join(filter(None, [g("language"), g("fluency")])),
    }
    line = lines.get(area) or " · ".join(value_of(item, f).replace("\n", ", ") for f in fields(area) if value_of(item, f))
    return line.strip(" —,") or "(empty)"
