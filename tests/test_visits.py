"""A service's page view is one line in the citizen's history (web/visits.py)."""

from __future__ import annotations

from web.visits import group_visits, sentence


def _item(index, what, area, who="CV Builder", block=4, time="2026-11-30T09:12:00Z", type_="data.read", status="verified"):
    return {"index": index, "type": type_, "who": who, "what": what, "area": area, "block": block, "time": time, "status": status}


def test_one_services_reads_of_one_visit_are_one_line_with_the_worst_badge():
    items = [  # newest first, as the timeline shows them
        _item(4, "found nothing in", "certificates"), _item(3, "read", "skills", status="pending"),
        _item(2, "read", "education"), _item(1, "read", "work"),
        _item(0, "consent given", None, type_="consent.granted", block=3),
    ]
    [visit, grant] = group_visits(items)
    assert visit["visit"] and [e["index"] for e in visit["entries"]] == [4, 3, 2, 1]
    assert visit["sentence"] == "read work, education and skills; found nothing in certificates"
    assert visit["status"] == "pending" and [e["status"] for e in visit["entries"]] == ["verified", "pending", "verified", "verified"]
    assert grant == items[-1] and "visit" not in grant


def test_other_services_blocks_times_and_kinds_start_a_new_line():
    items = [
        _item(5, "read", "work", who="Job Board"), _item(4, "read", "work"),
        _item(3, "read", "skills", block=5), _item(2, "read", "work", time="2026-11-30T09:30:00Z"),
        _item(1, "consent revoked", None, type_="consent.revoked"), _item(0, "read", "work"),
    ]
    assert [i.get("visit", False) for i in group_visits(items)] == [False] * 6
    assert group_visits([_item(1, "read", "work", time=None), _item(0, "read", "skills", time=None)])[0].get("visit") is None


def test_a_failed_entry_turns_the_visits_badge_red_and_one_area_reads_plainly():
    visit = group_visits([_item(1, "read", "work", status="failed"), _item(0, "was denied", "skills", type_="data.denied", status="pending")])[0]
    assert visit["status"] == "failed" and visit["sentence"] == "was denied skills; read work"
    assert sentence([_item(0, "read", "work")]) == "read work"
