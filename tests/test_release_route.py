"""The bare WSGI release route: releases answered ahead of Flask, everything else passed on,
and every failure answered as problem+json."""

from werkzeug.test import Client

from consent_operator.http import release_route
from consent_operator.http.release_route import ReleaseRoute
from httpkit.problems import Problem

PATH = "/v1/citizens/citizen:ab/areas/work"


def passed_on(environ, start_response):
    start_response("299 Passed On", [("Content-Type", "text/plain")])
    return [environ["REQUEST_METHOD"].encode() + b" " + environ["PATH_INFO"].encode()]


def test_only_gets_of_an_area_are_releases(monkeypatch):
    monkeypatch.setattr(release_route, "release_area", lambda rt, req, citizen, area: {"released": [citizen, area]})
    client = Client(ReleaseRoute(passed_on, rt=None))
    r = client.get(PATH)
    assert r.status_code == 200 and r.json == {"released": ["citizen:ab", "work"]} and r.mimetype == "application/json"
    for method, path in (("POST", PATH), ("GET", PATH + "/versions"), ("GET", "/v1/citizens/citizen:ab/areas")):
        assert client.open(path, method=method).data == f"{method} {path}".encode()


def test_a_refusal_is_a_problem_with_its_status(monkeypatch):
    def refuse(rt, req, citizen, area):
        raise Problem(403, "revoked", "Access denied", "revoked", consent_id="0x01")

    monkeypatch.setattr(release_route, "release_area", refuse)
    r = Client(ReleaseRoute(passed_on, rt=None)).get(PATH)
    assert r.status_code == 403 and r.mimetype == "application/problem+json"
    assert r.json["type"].endswith("/revoked") and r.json["consent_id"] == "0x01"


def test_an_unexpected_failure_is_a_500_problem_not_a_crash(monkeypatch):
    monkeypatch.setattr(release_route, "release_area", lambda *a: 1 / 0)
    r = Client(ReleaseRoute(passed_on, rt=None)).get(PATH)
    assert r.status_code == 500 and r.mimetype == "application/problem+json"
    assert r.json["type"].endswith("/internal-server-error") and "ZeroDivision" not in r.text
