"""`mydata demo` across real processes: the unattended walkthrough, and the demo system
serving the seeded citizen while the operator and the PDS hold no plaintext."""

import os
import signal
import subprocess
import sys
import time

import click
import pytest
import requests

from devchain.nodes import wait_for_http
from mydata import walkthrough
from web.citizen_agent import CitizenAgent, Endpoints
from web.demo_citizen import DEMO_RESUME

from .conftest import ROOT, free_port


def test_the_walkthrough_runs_the_whole_story_across_processes(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "mydata", "demo", "--walkthrough", "--data-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    done = [line.split(".", 1)[1].split(":")[0].strip() for line in proc.stdout.splitlines() if line.startswith("✓")]
    assert done == [name for name, _ in walkthrough.STEPS]
    assert "walkthrough complete" in proc.stdout


def test_a_misbehaving_step_stops_the_walk_with_its_name(monkeypatch, capsys):
    def broken(w):
        raise walkthrough.StepFailed("the service read revoked data")

    monkeypatch.setattr(walkthrough, "STEPS", [("fine", lambda w: "ok"), ("read denied", broken), ("never", lambda w: "unreached")])
    with pytest.raises(click.ClickException, match=r"step 2 \(read denied\): the service read revoked data"):
        walkthrough.walk(stack=None, agent=None)
    out = capsys.readouterr().out
    assert "✓  1. fine" in out and "✗  2. read denied" in out and "never" not in out


def _plaintexts() -> list[bytes]:
    strings = ["Länsförsäkringar Bergslagen", "Systemutvecklare", "Örebro universitet", "anna.lindqvist@example.se", "Kandidatexamen"]
    out = []
    for s in strings:
        out += [s.encode(), s.encode("unicode_escape"), s.encode("ascii", "backslashreplace")]
    return out


JSON = {"Accept": "application/json"}


def test_demo_serves_the_seeded_citizen_and_no_server_stores_plaintext(tmp_path):
    ports = {k: free_port() for k in ("chain", "operator", "pds", "cv", "citizen", "auditor")}
    args = [f"--{k}-port={v}" for k, v in ports.items()]
    log = open(tmp_path / "demo.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mydata", "demo", "--data-dir", str(tmp_path / "var"), *args],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    cv = f"http://127.0.0.1:{ports['cv']}"
    try:
        wait_for_http(cv + "/healthz", proc, timeout=180)
        wallet = tmp_path / "var" / "citizen" / "wallet.json"
        while "demo citizen" not in (tmp_path / "demo.log").read_text():  # seeded after the servers are up
            assert proc.poll() is None, (tmp_path / "demo.log").read_text()
            time.sleep(0.2)
        endpoints = Endpoints(f"http://127.0.0.1:{ports['operator']}", f"http://127.0.0.1:{ports['pds']}", f"http://127.0.0.1:{ports['chain']}")
        printed = (tmp_path / "demo.log").read_text()
        passphrase = printed.split("passphrase: ", 1)[1].split()[0]  # the demo prints its citizen's passphrase
        assert len(passphrase.split("-")) == 4 and passphrase not in wallet.read_text()
        agent = CitizenAgent.open(wallet, endpoints, passphrase)
        assert agent.id in printed and agent.wallet.phrase not in wallet.read_text()

        browser = requests.Session()
        agent.sign_in("cv-builder", browser.get(cv + "/signin", headers=JSON, timeout=60).json()["challenge"])
        token = browser.get(cv + "/signin", headers=JSON, timeout=60).json()["csrf_token"]  # signs the session in
        page = browser.post(cv + "/connect", headers={"X-CSRFToken": token}, timeout=60)
        assert page.status_code == 200 and "pending" in page.text
        agent.approve(agent.pending()[-1])
        cv_page = browser.get(f"{cv}/cv", timeout=60)
        assert cv_page.status_code == 200
        for job in DEMO_RESUME["work"]:
            assert job["position"] in cv_page.text and job["name"] in cv_page.text

        for server in ("operator", "pds"):
            for path in (tmp_path / "var" / server).rglob("*"):
                if path.is_file():
                    data = path.read_bytes()
                    assert not [s for s in _plaintexts() if s in data], path
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    assert proc.returncode == 0 and "Traceback" not in (tmp_path / "demo.log").read_text()
    assert "MonkeyPatchWarning" not in (tmp_path / "var" / "logs" / "operator.log").read_text()  # gevent patched before ssl was imported
