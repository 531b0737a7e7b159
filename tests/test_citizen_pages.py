"""Citizen app pages that need no operator: the recovery phrase survives a reload, the
erased page leads on, and every page names its icon."""

import pytest

from web.citizen_agent import Endpoints
from web.citizen_app import create_app

NOWHERE = "http://127.0.0.1:9"


@pytest.fixture
def app(tmp_path):
    app = create_app(tmp_path / "wallet.json", Endpoints(NOWHERE, NOWHERE, NOWHERE))
    app.config["WTF_CSRF_ENABLED"] = False
    return app


def test_a_new_identity_shows_its_phrase_and_a_reload_shows_it_again(app):
    client = app.test_client()
    assert client.get("/identity", base_url="http://127.0.0.1").status_code == 302  # no identity yet: to the welcome page
    created = client.post("/identity", base_url="http://127.0.0.1")
    assert created.status_code == 303 and created.headers["Location"] == "/identity"
    first, again = (client.get("/identity", base_url="http://127.0.0.1") for _ in range(2))
    assert first.status_code == again.status_code == 200 and "Write down your recovery phrase" in again.text
    assert first.text == again.text
    assert client.post("/identity", base_url="http://127.0.0.1").status_code == 409  # one identity per app


def test_the_erased_page_leads_back_to_a_new_identity_and_pages_have_an_icon(app):
    from flask import render_template

    with app.test_request_context("/", base_url="http://127.0.0.1"):
        app.preprocess_request()
        page = render_template("citizen/erased.html", revoked=[])
    assert 'id="start-again"' in page and 'href="/"' in page
    assert 'rel="icon"' in page
    assert app.test_client().get("/static/favicon.svg", base_url="http://127.0.0.1").status_code == 200
