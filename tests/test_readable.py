"""Times and vocabulary as people read them (httpkit/readable.py, ledger/vocabulary.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask, render_template_string

from httpkit import readable
from ledger.vocabulary import label

NOW = datetime(2026, 11, 30, 9, 12, tzinfo=UTC)


@pytest.fixture
def app():
    app = Flask("readable")
    readable.install(app)
    return app


def _render(app, template: str, language: str = "", **values) -> str:
    with app.test_request_context("/", headers={"Accept-Language": language} if language else {}):
        return render_template_string(template, **values)


@pytest.mark.parametrize(("language", "shown"), [("", "30 Nov 2026, 10:12"), ("en-GB", "30 Nov 2026, 10:12"), ("sv-SE,sv;q=0.9", "30 nov. 2026 10:12"), ("en-US", "Nov 30, 2026, 10:12\u202fAM")])
def test_a_record_time_is_shown_as_a_date_and_time_of_day_in_the_readers_language(app, language, shown):
    assert _render(app, "{{ t | when }}", language, t="2026-11-30T09:12:00Z") == shown


def test_chain_timestamps_and_other_zones_read_the_same(app):
    assert _render(app, "{{ t | when }}", t=int(NOW.timestamp())) == "30 Nov 2026, 10:12"
    app.config["TIME_ZONE"] = "UTC"
    assert _render(app, "{{ t | when }}", t="2026-11-30T09:12:00Z") == "30 Nov 2026, 09:12"


def test_missing_or_unreadable_times_show_nothing(app):
    assert _render(app, "[{{ a | when }}|{{ b | when }}|{{ c | relative }}|{{ d | when }}]", a=None, b="soon", c="", d=0) == "[|||]"


def test_relative_times_read_as_people_say_them():
    with Flask("r").test_request_context("/", headers={"Accept-Language": "en-GB"}):
        assert readable.relative("2026-12-29T09:12:00Z", NOW) == "in 4 weeks"
        assert readable.relative("2026-11-30T06:12:00Z", NOW) == "3 hours ago"
    with Flask("r").test_request_context("/", headers={"Accept-Language": "sv"}):
        assert readable.relative("2026-11-30T06:12:00Z", NOW) == "för 3 timmar sedan"


def test_dpv_terms_read_as_plain_words_and_other_purposes_as_written(app):
    assert label("dpv:ServiceProvision") == "providing the service you use"
    assert label("dpv:Consent") == "your consent"
    assert label("dpv:JobMatching") == "job matching"  # a DPV term we have no words for: its name in words
    assert label("Build and show your CV") == "Build and show your CV"
    assert label("dpv:not a term") == "dpv:not a term"
    rendered = _render(app, '{{ p | map("words") | join("; ") }}', p=["dpv:Marketing", "Issue certificates"])
    assert rendered == "marketing; Issue certificates"
