"""Citizen app pages that need no operator: a new identity's passphrase, the recovery phrase
surviving a reload, the lock and the unlock page, the erased page leading on, and every
page naming its icon."""

import pytest

from ledger.wallet import Wallet
from web.citizen_agent import Endpoints
from web.citizen_app import create_app

from .helpers import PASSPHRASE

NOWHERE = "http://127.0.0.1:9"


@pytest.fixture
def app(tmp_path):
    app = create_app(tmp_path / "wallet.json", Endpoints(NOWHERE, NOWHERE, NOWHERE))
    app.config["WTF_CSRF_ENABLED"] = False
    return app


LOCAL = "http://127.0.0.1"
NEW = {"passphrase": PASSPHRASE, "passphrase_again": PASSPHRASE}


def test_a_new_identity_shows_its_phrase_and_a_reload_shows_it_again(app, tmp_path):
    client = app.test_client()
    assert client.get("/identity", base_url=LOCAL).status_code == 302  # no identity yet: to the welcome page
    created = client.post("/identity", data=NEW, base_url=LOCAL)
    assert created.status_code == 303 and created.headers["Location"] == "/identity"
    first, again = (client.get("/identity", base_url=LOCAL) for _ in range(2))
    assert first.status_code == again.status_code == 200 and "Write down your recovery phrase" in again.text
    assert first.text == again.text
    phrase = Wallet.open(tmp_path / "wallet.json", PASSPHRASE).phrase
    assert phrase and all(f"<li>{word}</li>" in first.text for word in phrase.split())
    assert phrase not in (tmp_path / "wallet.json").read_text()  # sealed at rest
    assert client.post("/identity", data=NEW, base_url=LOCAL).status_code == 409  # one identity per app


@pytest.mark.parametrize(("form", "words"), [
    ({"passphrase": PASSPHRASE, "passphrase_again": PASSPHRASE + "!"}, "the two passphrases differ"),
    ({"passphrase": "short", "passphrase_again": "short"}, "a passphrase needs at least 8 characters"),
    ({**NEW, "phrase": "not a recovery phrase"}, "No identity created"),
])
def test_an_identity_needs_a_passphrase_typed_twice_and_a_real_phrase(app, tmp_path, form, words):
    resp = app.test_client().post("/identity", data=form, base_url=LOCAL)
    assert resp.status_code == 400 and words in resp.text
    assert not (tmp_path / "wallet.json").exists()


def test_a_locked_wallet_opens_only_with_its_passphrase_and_locks_again(tmp_path):
    Wallet.create(tmp_path / "wallet.json", PASSPHRASE)
    app = create_app(tmp_path / "wallet.json", Endpoints(NOWHERE, NOWHERE, NOWHERE))
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    locked = client.get("/identity", base_url=LOCAL)
    assert locked.status_code == 302 and locked.headers["Location"] == "/unlock?next=/identity"
    page = client.get("/unlock?next=/identity", base_url=LOCAL)
    assert "Unlock your wallet" in page.text and 'value="/identity"' in page.text and "Consents</a>" not in page.text  # no menu while locked
    wrong = client.post("/unlock", data={"passphrase": "not the passphrase", "next": "/identity"}, base_url=LOCAL)
    assert wrong.status_code == 400 and "That passphrase does not open this wallet." in wrong.text
    assert client.get("/identity", base_url=LOCAL).status_code == 302
    elsewhere = client.post("/unlock", data={"passphrase": PASSPHRASE, "next": "//evil.example/"}, base_url=LOCAL)
    assert elsewhere.status_code == 303 and elsewhere.headers["Location"] == "/"  # never sent to another site
    assert client.get("/identity", base_url=LOCAL).status_code == 200
    assert client.post("/lock", base_url=LOCAL).headers["Location"] == "/unlock"
    assert client.get("/identity", base_url=LOCAL).status_code == 302


def test_an_app_started_with_the_passphrase_unlocks_the_wallet_once_it_exists(tmp_path):
    path = tmp_path / "wallet.json"
    app = create_app(path, Endpoints(NOWHERE, NOWHERE, NOWHERE), PASSPHRASE)
    assert app.test_client().get("/identity", base_url=LOCAL).headers["Location"] == "/"  # no wallet yet
    Wallet.create(path, PASSPHRASE)
    assert app.test_client().get("/identity", base_url=LOCAL).status_code == 200


def test_the_erased_page_leads_back_to_a_new_identity_and_pages_have_an_icon(app):
    from flask import render_template

    with app.test_request_context("/", base_url="http://127.0.0.1"):
        app.preprocess_request()
        page = render_template("citizen/erased.html", revoked=[])
    assert 'id="start-again"' in page and 'href="/"' in page
    assert 'rel="icon"' in page
    assert app.test_client().get("/static/favicon.svg", base_url="http://127.0.0.1").status_code == 200
