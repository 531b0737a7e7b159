"""One page view of a service, one line in the citizen's history.

A service that shows a CV reads each area it may: four log entries for one visit (the log
keeps one entry per area, each with its own proof). The history groups a service's data
entries that follow one another within VISIT_SECONDS of the same block into a visit, read
as one sentence ("read work, education and skills; found nothing in certificates") with
one badge that is green only when every entry in it is.
"""

from __future__ import annotations

from datetime import datetime
from itertools import groupby

from ledger import events

VISIT_SECONDS = 60
STATUS_ORDER = ("failed", "pending", "verified")  # a visit's badge: the worst of its entries


def group_visits(items: list[dict]) -> list[dict]:
    """`items` (timeline items, newest first) with each run of one service's data entries
    from one visit replaced by a visit item holding them (`entries`) and its sentence."""
    out: list[dict] = []
    for item in items:
        last = out[-1] if out else None
        if last is not None and _same_visit(last, item):
            last.setdefault("entries", [dict(last)]).append(item)
            last.update(visit=True, status=min((e["status"] for e in last["entries"]), key=STATUS_ORDER.index), sentence=sentence(last["entries"]))
        else:
            out.append(dict(item))
    return out


def _same_visit(last: dict, item: dict) -> bool:
    first = last["entries"][0] if "entries" in last else last
    if item["type"] not in events.DATA_TYPES or first["type"] not in events.DATA_TYPES:
        return False
    if (item["who"], item["block"]) != (first["who"], first["block"]) or not (item["time"] and first["time"]):
        return False
    return abs((_at(first["time"]) - _at(item["time"])).total_seconds()) <= VISIT_SECONDS


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def sentence(entries: list[dict]) -> str:
    """What a visit did, oldest first, each kind of access once: "read work and skills;
    found nothing in certificates"."""
    parts = []
    for what, group in groupby(sorted(entries, key=lambda e: e["index"]), key=lambda e: e["what"]):
        areas = [e["area"] for e in group]
        parts.append(f"{what} {_and(areas)}")
    return "; ".join(parts)


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
