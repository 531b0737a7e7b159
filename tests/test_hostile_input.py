"""Hostile input at every door: deep nesting, oversized bodies, wrong JSON types and invalid
UTF-8, signed and unsigned, are answered with 4xx problems, and no process dies."""

from __future__ import annotations

import http.client
import os
import signal
from urllib.parse import urlsplit

import pytest
import requests

from devchain.nodes import child_pids, wait_until
from httpkit.http_limits import AREA_MAX_BODY, DEFAULT_MAX_BODY, MAX_DEPTH, nests_deeper_than
from ledger.request_auth import RequestSigner
from ledger.wallet import Wallet

from .helpers import PASSPHRASE

ORIGINAL = b"[" * 100_000 + b"]" * 100_000  # killed the PDS and a gunicorn worker before limits (200 KB)
DEEP = b"[" * 20_000 + b"]" * 20_000  # as deadly to a parser, and within every route's size limit
WRONG_TYPES = [b"[]", b'"text"', b"1", b"null", b"true", b'{"envelope": []}', b'{"wrapped": "x"}', b'{"grants": {}}', b'{"citizen": 7}']
INVALID_UTF8 = b'{"name": "\xff\xfe"}'


def test_nesting_is_measured_without_parsing():
    assert not nests_deeper_than(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH, MAX_DEPTH)
    assert nests_deeper_than(b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), MAX_DEPTH)
    assert nests_deeper_than(DEEP, MAX_DEPTH) and nests_deeper_than(ORIGINAL, MAX_DEPTH)
    assert not nests_deeper_than(b'{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}', 2)  # brackets in strings do not count
    assert not nests_deeper_than(b'{"a": "\\"[[[[[[", "b": [1, {"c": 2}]}', 3)  # nor after an escaped quote
    assert nests_deeper_than(b'{"a": [1, {"c": [2]}]}', 3)
    assert nests_deeper_than(b"[[]", MAX_DEPTH) and nests_deeper_than(b"[}", MAX_DEPTH)  # unbalanced: no parser accepts it


def _send(session: requests.Session, method: str, url: str, body: bytes, content_type: str = "application/json"):
    return session.request(method, url, data=body, headers={"Content-Type": content_type}, timeout=30)


def _assert_problem(resp, status: int | None = None, slug: str | None = None):
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.text[:300])
    if status:
        assert resp.status_code == status, resp.text[:300]
    assert resp.headers["Content-Type"].startswith("application/problem+json"), resp.headers
    if slug:
        assert resp.json()["type"].endswith("/" + slug), resp.text


def _operator_writes(w):
    """(method, url, session) of every operator route that takes a body, with the session a
    legitimate caller would sign with."""
    op, cid = w.op.url, w.cid
    service, citizen, anyone = w.service.operator.session, w.citizen_op.session, requests.Session()
    rid = w.service.request_consent(cid, ["dpv:ServiceProvision"], [{"area": "work", "access": "read"}], 30, "https://cv.example/n", b"n")
    return [
        ("POST", f"{op}/v1/services", service),
        ("POST", f"{op}/v1/consent-requests", service),
        ("POST", f"{op}/v1/consent-requests/{rid}/approve", citizen),
        ("POST", f"{op}/v1/consent-requests/{rid}/refuse", citizen),
        ("POST", f"{op}/ledger/grants", anyone),
        ("POST", f"{op}/ledger/revocations", anyone),
        ("POST", f"{op}/v1/citizens/{cid}/areas/work/versions", service),
    ]


def _pds_writes(w):
    base = f"{w.pds_url}/pds/v1/citizens/{w.cid}/areas/work"
    return [("POST", f"{base}/versions", w.citizen_pds), ("PUT", f"{base}/keys/2", w.citizen_pds)]


@pytest.mark.parametrize("node", ["embedded"], indirect=True)
def test_every_operator_and_pds_route_refuses_hostile_bodies_signed_and_unsigned(world):
    routes = _operator_writes(world) + _pds_writes(world)
    for method, url, session in routes:
        for signed in (session, requests.Session()):
            _assert_problem(_send(signed, method, url, DEEP), 400, "json-too-deep")
            limit = AREA_MAX_BODY if url.endswith("/versions") else DEFAULT_MAX_BODY
            _assert_problem(_send(signed, method, url, b'{"x": "' + b"a" * limit + b'"}'), 413, "body-too-large")
            _assert_problem(_send(signed, method, url, INVALID_UTF8))
            for body in WRONG_TYPES:
                _assert_problem(_send(signed, method, url, body))
    # the servers are all still there and still right
    assert requests.get(world.op.url + "/ledger/info", timeout=10).status_code == 200
    assert world.citizen_pds.get(f"{world.pds_url}/pds/v1/citizens/{world.cid}/areas").json() == ["work"]


@pytest.mark.parametrize("node", ["embedded"], indirect=True)
def test_a_lying_content_length_and_chunked_bodies_meet_the_same_limit(world):
    url = f"{world.op.url}/v1/consent-requests"
    conn = http.client.HTTPConnection(urlsplit(world.op.url).netloc, timeout=10)
    conn.putrequest("POST", "/v1/consent-requests")
    conn.putheader("Content-Length", "99999999")  # a claim the server must not wait out or trust
    conn.endheaders(b"{}")
    lying = conn.getresponse()
    assert lying.status == 413 and b"body-too-large" in lying.read()
    chunks = (b'{"x": "' + b"a" * 4096 if i == 0 else b"a" * 4096 for i in range(40))  # 160 KiB, no Content-Length
    _assert_problem(requests.post(url, data=chunks, headers={"Content-Type": "application/json"}, timeout=10), 413, "body-too-large")
    _assert_problem(requests.post(url, data=iter([DEEP[:20_000], DEEP[20_000:]]), timeout=10), 400, "json-too-deep")


@pytest.mark.parametrize("node", ["embedded"], indirect=True)
def test_the_web_apps_refuse_oversized_and_deep_bodies(node, tmp_path):
    from cv_service.app import create_app as cv_app
    from web.auditor_app import create_app as auditor_app
    from web.citizen_agent import Endpoints
    from web.citizen_app import create_app as citizen_app

    Wallet.create(tmp_path / "w.json", PASSPHRASE)
    nowhere = "http://127.0.0.1:9"
    citizen = citizen_app(tmp_path / "w.json", Endpoints(nowhere, nowhere, nowhere), PASSPHRASE)
    citizen.config["WTF_CSRF_ENABLED"] = False
    apps = {
        "citizen": (citizen, "/requests/x/refuse"),
        "auditor": (auditor_app(nowhere, node.url, tmp_path / "state.json"), "/"),
        "cv": (cv_app(nowhere, nowhere, tmp_path / "cv", "http://127.0.0.1:1"), "/connect"),
    }
    apps["cv notifications"] = (apps["cv"][0], "/notifications")  # the operator's signed notifications arrive here
    for app, path in apps.values():
        client = app.test_client()
        big = client.post(path, data=b"a" * (DEFAULT_MAX_BODY + 1), content_type="application/x-www-form-urlencoded")
        assert big.status_code == 413 and big.json["type"].endswith("/body-too-large")
        deep = client.post(path, data=DEEP, content_type="application/json")
        assert deep.status_code == 400 and deep.json["type"].endswith("/json-too-deep")
        page = client.get("/")
        assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
        assert page.headers["X-Content-Type-Options"] == "nosniff" and page.headers["X-Frame-Options"] == "DENY"
        assert page.headers["Referrer-Policy"] == "no-referrer"
    # the CV form carries each entry's stored JSON in a hidden field: a deep one is ignored, never parsed
    resp = citizen.test_client().post("/cv/work", data={"count": "1", "0._stored": "[" * 5000 + "]" * 5000, "0.name": "X", "action": "add"})
    assert resp.status_code == 502 and b"personal data store unreachable: nothing answers at http://127.0.0.1:9" in resp.data  # a page, not a 500


def test_the_citizen_apps_session_cookie_is_same_site(tmp_path):
    from web.citizen_agent import Endpoints
    from web.citizen_app import create_app as citizen_app

    nowhere = "http://127.0.0.1:9"
    resp = citizen_app(tmp_path / "w.json", Endpoints(nowhere, nowhere, nowhere)).test_client().get("/")
    assert "SameSite=Lax" in resp.headers["Set-Cookie"] and "HttpOnly" in resp.headers["Set-Cookie"]


def test_the_running_stack_survives_the_crashing_request_a_dead_worker_and_a_dead_server(tmp_path):
    """The request that killed the PDS (100,000-deep JSON signed by a fresh citizen key) and the
    operator's gunicorn worker (the same body unsigned) are refused; a killed PDS worker is
    replaced by its arbiter; a killed PDS is started again by the stack."""
    from mydata.ports import Ports
    from mydata.stack import Stack

    with Stack(tmp_path / "data", Ports.free()) as stack:
        fresh = Wallet.create(tmp_path / "fresh.json", PASSPHRASE)
        pds = requests.Session()
        pds.auth = RequestSigner(fresh.keys.citizen_id(), fresh.keys.request_seed())
        areas = f"{stack.url('pds')}/pds/v1/citizens/{fresh.keys.citizen_id()}/areas"
        def signed() -> requests.Session:  # a connection of its own: a refused body closes the connection
            s = requests.Session()
            s.auth = pds.auth
            return s

        _assert_problem(_send(signed(), "PUT", f"{areas}/work/keys/1", ORIGINAL), 413, "body-too-large")
        _assert_problem(_send(signed(), "PUT", f"{areas}/work/keys/1", DEEP), 400, "json-too-deep")
        _assert_problem(_send(signed(), "POST", f"{areas}/work/versions", ORIGINAL), 400, "json-too-deep")  # a route for CV areas takes 1 MiB
        for path in ("/v1/services", "/ledger/grants", "/ledger/revocations", "/v1/consent-requests"):
            _assert_problem(_send(requests.Session(), "POST", stack.url("operator") + path, ORIGINAL), 413, "body-too-large")
            _assert_problem(_send(requests.Session(), "POST", stack.url("operator") + path, DEEP), 400, "json-too-deep")
        assert stack.failed() is None
        assert pds.get(areas, timeout=10).json() == []

        pds_proc = dict(stack._procs)["pds"]
        worker = child_pids(pds_proc.pid)[0]
        os.kill(worker, signal.SIGKILL)
        wait_until(lambda: worker not in child_pids(pds_proc.pid) and len(child_pids(pds_proc.pid)) == 2, "a new PDS worker")
        assert pds.get(areas, timeout=10).json() == []

        os.killpg(pds_proc.pid, signal.SIGKILL)
        wait_until(lambda: pds_proc.poll() is not None, "the PDS to exit")
        assert stack.restart_failed() == "pds" and stack.restarts == {"pds": 1}
        assert pds.get(areas, timeout=10).json() == []
