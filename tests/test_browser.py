"""The citizen app, the CV service's pages and the auditor view in a real browser: Playwright
driving Debian's chromium against `mydata demo` on loopback ports.

The journey: request on the CV service -> approve in the citizen app -> the CV page shows
the data -> revoke -> the service is denied -> the history shows the denial with a green
badge -> the auditor view is green. Then a tampered log entry turns the badge and the
auditor view red. Screenshots go to test-artifacts/screenshots/.
"""

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from consent_operator.keystore import admin_token
from devchain.nodes import wait_for_http

from .conftest import ROOT, free_port

CHROMIUM = "/usr/bin/chromium"
SHOTS = ROOT / "test-artifacts" / "screenshots"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    data = tmp_path_factory.mktemp("demo")
    ports = {k: free_port() for k in ("chain", "operator", "pds", "cv", "citizen", "auditor")}
    log_path = data / "demo.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mydata", "demo", "--data-dir", str(data / "var"), *(f"--{k}-port={v}" for k, v in ports.items())],
        cwd=ROOT, stdout=open(log_path, "w"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = {k: f"http://127.0.0.1:{v}" for k, v in ports.items()}
    try:
        wait_for_http(url["auditor"] + "/static/app.css", proc, timeout=180)
        while "demo citizen" not in log_path.read_text():
            assert proc.poll() is None, log_path.read_text()
            time.sleep(0.2)
        yield {"url": url, "data": data / "var"}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "scripts/setup installs Debian's chromium"
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def shot(page, name):
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def anchor(demo):
    token = admin_token(demo["data"] / "operator")
    assert requests.post(demo["url"]["operator"] + "/ledger/anchor", headers={"Authorization": f"Bearer {token}"}, timeout=120).status_code == 200


def test_the_whole_journey_from_request_to_a_proven_revocation(demo, page):
    cv, app, auditor = demo["url"]["cv"], demo["url"]["citizen"], demo["url"]["auditor"]
    page.goto(app)
    assert page.locator("#citizen-id").inner_text().startswith("citizen:")
    shot(page, "citizen-home")

    page.goto(cv)
    page.get_by_role("link", name="Sign in with MyData").click()
    assert page.locator("#qr svg").is_visible()
    shot(page, "cv-service-signin")
    page.locator("#signin-link").click()  # the link carries the citizen to their app: nothing typed
    shot(page, "citizen-signin")
    page.get_by_role("button", name="Sign in to CV Builder").click()
    assert "CV Builder now knows it is you" in page.locator("#signed-in").inner_text()
    page.get_by_role("link", name="Go back to CV Builder").click()
    page.get_by_role("button", name="Ask for consent").click()
    assert page.locator("#status").inner_text() == "pending"
    assert page.locator("#qr svg").is_visible()
    request_url = page.url
    shot(page, "cv-service-request")

    page.locator("#approve-link").click()  # the link carries the citizen to the app
    request_card = page.locator("section.request").filter(has_text="CV Builder")
    assert "read work" in request_card.inner_text() and "write certificates" in request_card.inner_text()
    shot(page, "citizen-requests")
    request_card.locator("input[value='certificates:write']").uncheck()  # approve part, refuse the rest
    request_card.get_by_role("button", name="Approve").click()
    page.wait_for_url("**/consents")
    row = page.locator("tbody tr").filter(has_text="CV Builder")
    assert row.locator(".badge").inner_text() == "active"
    shot(page, "citizen-consents")

    page.goto(request_url)
    assert page.locator("#status").inner_text() == "approved" and page.locator("#receipt").inner_text() == "active"
    page.locator("#cv-link").click()
    assert "Systemutvecklare" in page.locator("#work").inner_text() and "Örebro universitet" in page.locator("#education").inner_text()
    shot(page, "cv-page")

    page.goto(app + "/consents")
    page.locator("tbody tr").filter(has_text="CV Builder").get_by_role("button", name="Revoke consent for CV Builder").click()
    page.wait_for_url("**/consents")
    assert "the chain confirmed it at" in page.locator(".flash.ok").inner_text()
    assert page.locator("tbody tr").filter(has_text="CV Builder").locator(".badge").inner_text() == "revoked"
    row = page.locator("tbody tr").filter(has_text="CV Builder").inner_text()
    assert "providing the service you use" in row and "dpv:" not in row  # purposes in plain words
    assert re.search(r"in \d+ (weeks|months)", row)  # until when, from now

    page.goto(f"{cv}/cv")
    assert "You revoked your consent on" in page.locator("#ended").inner_text()
    shot(page, "cv-page-denied")

    anchor(demo)
    page.goto(app + "/history")
    assert page.locator("li.data-denied").count() == 0  # the service asked for nothing after the revoke: no denial to show
    revocation = page.locator("li.consent-revoked").first
    assert "CV Builder" in revocation.inner_text() and "consent revoked" in revocation.inner_text()
    assert revocation.locator(".badge").get_attribute("data-status") == "verified"
    assert {b.get_attribute("data-status") for b in page.locator(".timeline .badge").all()} == {"verified"}
    assert page.locator("svg.chart rect").count() >= 1 and page.locator(".chart-legend li").count() >= 1
    page.locator(".chart-table summary").click()
    assert "CV Builder" in page.locator("#access-table").inner_text()  # the table beside the picture
    shot(page, "citizen-history")

    page.goto(auditor)
    assert "ok" in page.locator("#status").get_attribute("class")
    assert "CV Builder" in page.locator("#accesses").inner_text()  # the service's name, its id beside it
    assert page.locator("#anchors tbody tr").count() >= 1
    assert re.search(r"[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d\d", page.locator("#anchors").inner_text())  # "Nov 30, 2026, 6:15 PM": Chromium asks for en-US
    assert page.locator("#witnesses li").count() == 2
    assert page.locator("#witnesses .badge.ok").count() == 2  # both demo witnesses cosigned the latest anchor
    shot(page, "auditor")


def test_pages_work_on_a_phone_by_keyboard_with_labels(demo, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    try:
        for path in ("/unlock", "/", "/cv", "/requests", "/consents", "/history", "/data", "/data/report"):
            page.goto(demo["url"]["citizen"] + path)
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
            unlabelled = page.evaluate(
                "[...document.querySelectorAll('input:not([type=hidden]), textarea')].filter(e => !(e.labels && e.labels.length)).length"
            )
            assert unlabelled == 0, path
            if path in ("/consents", "/history", "/data/report"):
                shot(page, "phone" + path.replace("/", "-"))
            if path != "/":  # on a phone the sections share one row under the app's name
                tops = page.evaluate("[...document.querySelectorAll('header.top nav a:not(.brand)')].map(a => a.getBoundingClientRect().top)")
                brand = page.evaluate("document.querySelector('header.top .brand').getBoundingClientRect().bottom")
                assert len(set(tops)) == 1 and tops[0] >= brand, (path, tops, brand)
                lock = page.evaluate("document.querySelector('header.top form.lock').getBoundingClientRect().bottom")
                assert lock <= tops[0], (path, lock, tops)  # Lock sits beside the name, not on a row of its own
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to content"
        page.goto(demo["url"]["citizen"] + "/cv")
        assert "Systemutvecklare" in page.locator("#work .cv-items").inner_text()  # decrypted in the app
        work = page.locator("#work")
        work.get_by_text("Edit work").click()
        new = page.locator("#work fieldset.cv-item").count()
        work.get_by_role("button", name="Add an entry").click()  # the form comes back with a new, unsaved entry
        expect(page.locator("#work fieldset.cv-item")).to_have_count(new + 1)
        page.locator(f"#work-{new}-position").fill("Lärare")
        page.locator(f"#work-{new}-name").fill("Folkuniversitetet")
        page.locator(f"#work-{new}-startDate").fill("2010-08-15")
        page.locator(f"#work-{new}-endDate").fill("2014-06-10")
        page.locator(f"#work-{new}").get_by_role("button", name="Move up").click()
        expect(page.locator(f"#work-{new - 1}-position")).to_have_value("Lärare")
        shot(page, "phone-cv-editing")
        page.locator("#work").get_by_role("button", name="Save work").click()
        expect(page.locator(".flash.ok")).to_contain_text("Saved work")
        lines = page.locator("#work .cv-items li").all_inner_texts()
        assert lines.index("Lärare, Folkuniversitetet (2010-08-15 – 2014-06-10)") == new - 1  # role, place, then dates; moved up one
        page.locator("#work").get_by_text("Edit work").click()
        page.locator(f"#work-{new - 1}").get_by_role("button", name="Remove").click()
        expect(page.locator("#work fieldset.cv-item")).to_have_count(new)
        page.locator("#work").get_by_role("button", name="Save work").click()
        expect(page.locator(".flash.ok")).to_contain_text("Saved work")
        assert "Lärare" not in page.locator("#work .cv-items").inner_text()
        page.locator("#skills").get_by_text("Edit skills").click()
        page.locator("#skills-0-name").fill("")
        page.locator("#skills").get_by_role("button", name="Save skills").click()
        expect(page.locator("#skills-0-name-error")).to_have_text("Name must be filled in")  # named, in plain words
    finally:
        context.close()


def test_forms_without_the_csrf_token_and_foreign_host_names_are_refused(demo):
    resp = requests.post(demo["url"]["citizen"] + "/data/erase", data={"confirm": "ERASE"}, timeout=30)
    assert resp.status_code == 400 and "CSRF" in resp.text
    rebound = requests.get(demo["url"]["citizen"] + "/cv", headers={"Host": "attacker.example"}, timeout=30)
    assert rebound.status_code == 400 and "Systemutvecklare" not in rebound.text
    assert requests.get(demo["url"]["citizen"] + "/cv", timeout=30).status_code == 200  # nothing was erased


def test_a_tampered_log_entry_turns_the_badge_and_the_auditor_view_red(demo, page):
    page.goto(demo["url"]["citizen"] + "/history")
    index = int(page.locator("li.consent-revoked").first.get_attribute("id").removeprefix("entry-"))
    with sqlite3.connect(demo["data"] / "operator" / "log.sqlite") as db:  # the operator rewrites history
        (data,) = db.execute("SELECT data FROM entries WHERE idx=?", (index,)).fetchone()
        db.execute("UPDATE entries SET data=? WHERE idx=?", (data.replace(b'"relayer":"0x', b'"relayer":"0X'), index))

    page.goto(demo["url"]["citizen"] + "/history")
    assert page.locator(f"#entry-{index} .badge").get_attribute("data-status") == "failed"
    shot(page, "citizen-history-tampered")

    page.goto(demo["url"]["auditor"])
    assert "bad" in page.locator("#status").get_attribute("class")
    assert page.locator("#anomalies li").count() == 1
    shot(page, "auditor-tampered")


def test_the_art15_report_is_a_page_that_prints(demo, page):
    page.goto(demo["url"]["citizen"] + "/data")
    page.locator("#report-page").click()
    assert "CV Builder" in page.locator("#recipients").inner_text()
    assert page.locator("#report-accesses .badge").count() >= 1
    refused = page.locator("#report-refused").inner_text()  # the part of the request left out of the approval
    assert "CV Builder asked to write certificates" in refused and "you refused this part, and approved the rest" in refused
    page.emulate_media(media="print")
    expect(page.locator("nav")).to_be_hidden()  # waits for the stylesheet: the click returns before the page has loaded it
    expect(page.locator("[data-print]")).to_be_hidden()
    shot(page, "citizen-report-print")
    page.emulate_media(media="screen")
    shot(page, "citizen-report")


def test_downloads_of_the_export_and_report_then_erasure(demo, page):
    import json

    page.goto(demo["url"]["citizen"] + "/data")
    with page.expect_download() as got:
        page.locator("#export").click()
    export = json.loads(Path(got.value.path()).read_text())
    assert export["resume"]["work"][0]["position"] == "Systemutvecklare" and len(export["receipts"]) == 1
    with page.expect_download() as got:
        page.locator("#report").click()
    report = json.loads(Path(got.value.path()).read_text())
    assert report["article"] == "GDPR Art. 15" and report["recipients"][0]["name"] == "CV Builder"

    wallet = demo["data"] / "citizen" / "wallet.json"
    page.goto(demo["url"]["citizen"] + "/identity")  # the citizen writes down the phrase the app shows
    phrase = " ".join(page.locator("#phrase li").all_inner_texts())
    assert len(phrase.split()) == 24 and phrase not in wallet.read_text()  # sealed under the passphrase at rest
    page.goto(demo["url"]["citizen"])
    citizen_id = page.locator("#citizen-id").inner_text()
    page.goto(demo["url"]["citizen"] + "/data")
    page.get_by_label("Type ERASE to confirm").fill("ERASE")
    page.get_by_role("button", name="Erase my account").click()
    assert "wallet are gone" in page.locator("#erased").inner_text()
    assert not (demo["data"] / "citizen" / "wallet.json").exists()
    shot(page, "citizen-erased")
    page.get_by_role("link", name="Start again with a new identity").click()  # the erased page leads on
    assert page.get_by_role("button", name="Create my identity").is_visible()
    shot(page, "citizen-welcome")
    page.get_by_label("Recovery phrase (24 words)").fill(phrase)  # the same identity comes back from the phrase alone
    page.locator("#restore-passphrase").fill("a new passphrase")
    page.locator("#restore-passphrase-again").fill("a new passphrase")
    page.get_by_role("button", name="Restore").click()
    assert page.locator("#citizen-id").inner_text() == citizen_id
    page.get_by_role("button", name="Lock").click()  # locked: the menu goes, the passphrase opens it again
    assert page.get_by_role("heading", name="Unlock your wallet").is_visible() and not page.get_by_role("link", name="Consents").count()
    page.get_by_label("Passphrase").fill("not the passphrase")
    page.get_by_role("button", name="Unlock").click()
    assert page.get_by_text("That passphrase does not open this wallet.").is_visible()
    shot(page, "citizen-unlock")
    page.get_by_label("Passphrase").fill("a new passphrase")
    page.get_by_role("button", name="Unlock").click()
    assert page.locator("#citizen-id").inner_text() == citizen_id
    page.goto(demo["url"]["citizen"] + "/cv")
    assert page.locator("#work").get_by_text("Empty.").is_visible()  # the erased CV stays erased
