"""The citizen edits the CV through forms built from the JSON Resume schema: add, edit,
reorder and remove entries, dates as date inputs, and a wrong field named in plain words."""

from __future__ import annotations

import re

import pytest
from werkzeug.datastructures import MultiDict

from web import resume_form

from .worlds import WORK


@pytest.fixture
def app(world):
    return world.citizen_app().test_client(), world.agent


def _post(client, area, action, items):
    form = MultiDict([("action", action), ("count", str(len(items)))])
    for i, item in enumerate(items):
        form.add(f"{i}._stored", "{}")
        for key, value in item.items():
            form.add(f"{i}.{key}", value)
    return client.post(f"/cv/{area}", data=form, base_url="http://127.0.0.1")


def test_fields_come_in_json_resume_order_as_the_inputs_they_need():
    work = resume_form.fields("work")
    assert [f.name for f in work] == ["name", "position", "url", "startDate", "endDate", "summary", "highlights"]
    assert [f.kind for f in work] == ["text", "text", "url", "date", "date", "long", "lines"]
    assert "location.city" in [f.name for f in resume_form.fields("basics")]
    assert resume_form.item_line("work", {"name": "Svenska Kaffeskolan", "position": "Barista", "startDate": "2015-06-01", "endDate": "2019-02-28"}) == (
        "Barista, Svenska Kaffeskolan (2015-06-01 – 2019-02-28)"
    )


EMBEDDED = pytest.mark.parametrize("node", ["embedded"], indirect=True)


@EMBEDDED
def test_a_job_is_added_with_dates_moved_up_and_removed(app):
    client, agent = app
    page = client.get("/cv", base_url="http://127.0.0.1").get_data(as_text=True)
    assert 'type="date"' in page and 'name="0.position"' in page and "Developer, Arbetsförmedlingen" in page
    assert "as JSON" not in page  # no JSON text areas
    assert "<details open" not in page  # no editor opens by itself, empty sections included
    added = _post(client, "work", "add", [{"name": "Arbetsförmedlingen", "position": "Developer"}])
    assert added.status_code == 200 and added.get_data(as_text=True).count('class="cv-item"') >= 2 and "Not saved yet" in added.get_data(as_text=True)
    jobs = [{"name": "Arbetsförmedlingen", "position": "Developer"}, {"name": "Svenska Kaffeskolan", "position": "Barista", "startDate": "2015-06-01", "endDate": "2019-02-28", "highlights": "Latte art\nRoasting"}]
    assert _post(client, "work", "save", jobs).status_code == 302
    assert agent.cv()["work"][1] == {"name": "Svenska Kaffeskolan", "position": "Barista", "startDate": "2015-06-01", "endDate": "2019-02-28", "highlights": ["Latte art", "Roasting"]}
    moved = _post(client, "work", "up-1", jobs).get_data(as_text=True)
    assert moved.index('value="Barista"') < moved.index('value="Developer"')
    assert _post(client, "work", "save", list(reversed(jobs))).status_code == 302
    assert [j["position"] for j in agent.cv()["work"]] == ["Barista", "Developer"]
    assert _post(client, "work", "save", [jobs[0]]).status_code == 302  # the form after Remove on the other entry
    assert agent.cv()["work"] == WORK


@EMBEDDED
def test_a_wrong_field_is_named_in_plain_words_and_nothing_is_saved(app):
    client, agent = app
    bad = _post(client, "work", "save", [{"name": "X", "startDate": "last spring"}])
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400 and 'aria-invalid="true"' in html
    assert re.search(r'<p class="field-error" id="work-0-startDate-error">Start must be a date', html)
    assert agent.cv()["work"] == WORK
    nameless = _post(client, "skills", "save", [{"level": "expert"}])
    assert nameless.status_code == 400 and "Name must be filled in" in nameless.get_data(as_text=True)


def test_fields_the_form_does_not_show_and_short_dates_are_kept():
    form = MultiDict([("count", "1"), ("0._stored", '{"name": "A", "startDate": "2019", "extra": {"k": 1}}'), ("0.name", "B"), ("0.startDate", "")])
    assert resume_form.read_form("work", form) == [{"extra": {"k": 1}, "name": "B", "startDate": "2019"}]
    deep = MultiDict([("count", "1"), ("0._stored", "[" * 100_000 + "]" * 100_000), ("0.name", "C")])
    assert resume_form.read_form("work", deep) == [{"name": "C"}]  # a hostile hidden field is ignored, not parsed
