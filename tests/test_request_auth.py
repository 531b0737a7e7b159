"""RFC 9421 signed requests: accepted once, and every way of getting them wrong is refused."""

import datetime as dt
import os
import threading

import pytest
import requests
from flask import Flask, jsonify, request
from requests.structures import CaseInsensitiveDict

from httpkit.serving import loopback_server
from ledger.request_auth import RequestAuthError, RequestSigner, RequestVerifier
from storage.sqlite.replay import SqliteReplayStore


@pytest.fixture
def keys():
    return {"service:cv": RequestSigner("service:cv", os.urandom(32)), "citizen:anna": RequestSigner("citizen:anna", os.urandom(32))}


@pytest.fixture
def verifier(keys, tmp_path):
    registered = {k: s.public_key() for k, s in keys.items()}
    return RequestVerifier(registered.get, SqliteReplayStore(tmp_path / "nonces.sqlite"))


def prepared(signer, method="POST", url="http://127.0.0.1/pds/v1/areas/work?version=2", body=b'{"a":1}', **sign):
    req = requests.Request(method, url, data=body, headers={"Content-Type": "application/json"}).prepare()
    return signer.sign(req, **sign)


def check(verifier, req, body=None, method=None, url=None):
    return verifier.verify(method or req.method, url or req.url, req.headers, req.body if body is None else body)


class refused:  # noqa: N801 - reads like pytest.raises
    """Expect a RequestAuthError with this problem slug."""

    def __init__(self, slug):
        self.slug = slug

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        assert kind is RequestAuthError, f"expected refusal {self.slug}, got {kind}"
        assert exc.slug == self.slug, f"expected {self.slug}, got {exc.slug}: {exc}"
        return True


def test_a_signed_request_is_accepted_once(keys, verifier):
    req = prepared(keys["service:cv"])
    assert check(verifier, req) == "service:cv"
    with refused("replayed-request"):
        check(verifier, req)


def test_replay_is_refused_by_another_process_sharing_the_store(keys, verifier, tmp_path):
    req = prepared(keys["citizen:anna"])
    check(verifier, req)
    other = RequestVerifier(verifier.public_key_for, SqliteReplayStore(tmp_path / "nonces.sqlite"))
    with refused("replayed-request"):
        check(other, req)


@pytest.mark.parametrize("offset", [-600, 600])
def test_stale_or_future_requests_are_refused(keys, verifier, offset):
    req = prepared(keys["service:cv"], created=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=offset))
    with refused("stale-request"):
        check(verifier, req)


def test_tampered_body_method_path_or_query_is_refused(keys, verifier):
    req = prepared(keys["service:cv"])
    with refused("bad-signature"):
        check(verifier, req, body=b'{"a":2}')
    with refused("bad-signature"):
        check(verifier, req, method="PUT")
    with refused("bad-signature"):
        check(verifier, req, url="http://127.0.0.1/pds/v1/areas/skills?version=2")
    with refused("bad-signature"):
        check(verifier, req, url="http://127.0.0.1/pds/v1/areas/work?version=3")


def test_a_key_claiming_another_identity_is_refused(verifier):
    impostor = RequestSigner("service:cv", os.urandom(32))  # right key id, wrong key
    with refused("bad-signature"):
        check(verifier, prepared(impostor))


def test_unknown_key_and_unsigned_requests_are_refused(verifier):
    with refused("unknown-key"):
        check(verifier, prepared(RequestSigner("service:nobody", os.urandom(32))))
    plain = requests.Request("GET", "http://127.0.0.1/x").prepare()
    with refused("unsigned-request"):
        verifier.verify("GET", plain.url, plain.headers, b"")


def test_signed_requests_through_a_real_flask_server(keys, verifier):
    app = Flask("t")

    @app.post("/echo")
    def echo():
        try:
            return jsonify(key=verifier.verify_request(request))
        except RequestAuthError as exc:
            return jsonify(refused=exc.slug), 401

    server = loopback_server(app)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/echo?x=1"
    try:
        ok = requests.post(url, json={"hello": "world"}, auth=keys["citizen:anna"])
        assert ok.json() == {"key": "citizen:anna"}
        replay = requests.Session().send(ok.request)
        assert replay.status_code == 401 and replay.json() == {"refused": "replayed-request"}
        assert requests.post(url, json={}).json() == {"refused": "unsigned-request"}
    finally:
        server.shutdown()


# ---- the fast canonical path against the library (the reference) --------------------
from ledger.request_auth import _Canonical, _Message, _verify_canonical, _verify_with_library  # noqa: E402

URLS = [
    "http://127.0.0.1/v1/citizens/citizen:ab/areas/work",
    "http://127.0.0.1:8600/v1/x?b=2&a=1",
    "http://127.0.0.1/v1/caf%C3%A9/%20x?q=%2F&empty=",
    "http://127.0.0.1/",
]


def outcome(verify, req, **tamper):
    msg = _Message(tamper.get("method", req.method), tamper.get("url", req.url), tamper.get("headers", req.headers))
    try:
        verify(msg, tamper.get("body", req.body or b""))
    except RequestAuthError as exc:
        return exc.slug
    return "ok"


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("method,body", [("GET", None), ("POST", b'{"a":1}'), ("PUT", b"")])
def test_the_library_verifies_what_the_fast_path_signs_and_both_refuse_the_same(keys, url, method, body):
    signer = keys["service:cv"]
    req = signer.sign(requests.Request(method, url, data=body).prepare())
    assert _Canonical.parse(CaseInsensitiveDict(req.headers)) is not None  # took the fast path
    fast = lambda msg, b: _verify_canonical(_Canonical.parse(msg.headers), msg, b, signer.public_key())  # noqa: E731
    library = lambda msg, b: _verify_with_library(msg, b, signer.public_key())  # noqa: E731
    other_sig = RequestSigner("service:cv", os.urandom(32)).sign(requests.Request(method, url, data=body).prepare()).headers["Signature"]
    for tamper in [{}, {"body": b"x"}, {"method": "DELETE"}, {"url": url + ("&" if "?" in url else "?") + "z=1"},
                   {"url": url.replace("127.0.0.1", "127.0.0.1").rstrip("/") + "/more"},
                   {"headers": {**req.headers, "Signature": other_sig}}]:
        assert outcome(fast, req, **tamper) == outcome(library, req, **tamper) == ("ok" if not tamper else "bad-signature"), tamper


def test_library_signatures_and_non_canonical_ones_are_accepted(keys, verifier, tmp_path):
    req = keys["citizen:anna"].sign_with_library(requests.Request("GET", URLS[1]).prepare())
    assert check(verifier, req) == "citizen:anna"
    odd = RequestSigner('citizen:"quoted"', os.urandom(32))  # needs escapes: only the library serialises it
    req = odd.sign(requests.Request("POST", URLS[2], data=b"{}").prepare())
    assert _Canonical.parse(CaseInsensitiveDict(req.headers)) is None
    lenient = RequestVerifier({'citizen:"quoted"': odd.public_key()}.get, SqliteReplayStore(tmp_path / "n2.sqlite"))
    assert check(lenient, req) == 'citizen:"quoted"'


def test_percent_encoded_paths_and_queries_verify_through_a_flask_server(keys, verifier):
    app = Flask("t")
    app.post("/<path:anything>")(lambda anything: jsonify(key=verifier.verify_request(request)))
    server = loopback_server(app)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/v1/caf%C3%A9/%20x?q=%2F&empty="
        assert requests.post(url, data=b"{}", auth=keys["service:cv"]).json() == {"key": "service:cv"}
    finally:
        server.shutdown()


@pytest.mark.parametrize(("age", "ok"), [(0, True), (300, True), (301, False), (-1, False)])
def test_the_replay_window_includes_both_ends_and_nothing_beyond(keys, verifier, monkeypatch, age, ok):
    """A request signed exactly now or exactly 300 s ago is fresh; one second more either way is not."""
    import ledger.request_auth as request_auth

    now = 1_900_000_000
    monkeypatch.setattr(request_auth.time, "time", lambda: float(now))
    req = prepared(keys["service:cv"], created=dt.datetime.fromtimestamp(now - age, dt.UTC))
    if ok:
        signed = verifier.check(req.method, req.url, req.headers, req.body)
        assert signed.expires_at == now - age + 300  # the nonce is kept until the request could no longer be fresh
    else:
        with pytest.raises(RequestAuthError, match=f"^the request was signed at {now - age}, outside the replay window$"):
            check(verifier, req)


def test_a_replay_is_refused_after_the_store_has_cleaned_up(keys, verifier):
    req = prepared(keys["service:cv"])
    check(verifier, req)
    for i in range(1000):
        verifier.nonces.use("other", f"n{i}", 0)  # expired at once: each cleanup pass finds work
    with refused("replayed-request"):
        check(verifier, req)


def test_each_refusal_names_its_reason(keys, verifier):
    with pytest.raises(RequestAuthError, match="^no key is registered as 'service:nobody'$"):
        check(verifier, prepared(RequestSigner("service:nobody", os.urandom(32))))
    req = prepared(keys["service:cv"])
    with pytest.raises(RequestAuthError, match="^the request signature does not verify: Content-Digest does not match the body$"):
        check(verifier, req, body=b"other")
    with pytest.raises(RequestAuthError, match="^the request signature does not verify$"):
        check(verifier, prepared(RequestSigner("service:cv", os.urandom(32))))
    check(verifier, req)
    with pytest.raises(RequestAuthError, match="^this signed request was already used$"):
        check(verifier, req)


def test_a_library_signed_request_with_another_body_is_refused(keys, verifier):
    req = keys["citizen:anna"].sign_with_library(requests.Request("POST", URLS[2], data=b'{"a":1}').prepare())
    with refused("bad-signature"):
        check(verifier, req, body=b'{"a":2}')


def _over_the_method_alone(signer: RequestSigner) -> requests.PreparedRequest:
    """A request signed through the library over `@method` only (nothing about path or body)."""
    from http_message_signatures import HTTPMessageSigner, HTTPSignatureKeyResolver, algorithms

    class Resolver(HTTPSignatureKeyResolver):
        def resolve_private_key(self, key_id):
            return signer._key

    req = requests.Request("POST", URLS[2], data=b"{}").prepare()
    HTTPMessageSigner(signature_algorithm=algorithms.ED25519, key_resolver=Resolver()).sign(
        req, key_id=signer.key_id, created=dt.datetime.now(dt.UTC), nonce="n" * 20, covered_component_ids=("@method",)
    )
    return req


def test_a_signature_covering_fewer_components_is_refused(keys, verifier):
    """Through the library path too: a signature over the method alone proves nothing about the path or body."""
    with refused("bad-signature"):
        check(verifier, _over_the_method_alone(keys["service:cv"]))


@pytest.mark.parametrize(("nonce", "slug"), [("n" * 15, "unsigned-request"), ("n" * 16, None)])
def test_a_nonce_must_have_at_least_16_characters(keys, verifier, nonce, slug):
    req = keys["service:cv"].sign_with_library(requests.Request("GET", URLS[1]).prepare(), nonce=nonce)
    if slug is None:
        assert check(verifier, req) == "service:cv"
    else:
        with pytest.raises(RequestAuthError, match="^the signature must carry keyid, created and a random nonce$"):
            check(verifier, req)


def test_library_signatures_get_a_fresh_time_and_nonce_by_default(keys, verifier):
    first = keys["citizen:anna"].sign_with_library(requests.Request("GET", URLS[1]).prepare())
    second = keys["citizen:anna"].sign_with_library(requests.Request("GET", URLS[1]).prepare())
    assert first.headers["Signature-Input"] != second.headers["Signature-Input"]
    assert check(verifier, first) == check(verifier, second) == "citizen:anna"


@pytest.mark.parametrize(
    ("environ", "want"),
    [({"RAW_URI": "/a%2Fb?q=%20"}, "/a%2Fb?q=%20"), ({"REQUEST_URI": "/a%2Fb?q=%20"}, "/a%2Fb?q=%20"), ({}, "/a/b?q=x")],
)
def test_the_target_is_taken_as_the_client_sent_it(environ, want):
    """gunicorn passes RAW_URI, Werkzeug's server REQUEST_URI; without either, the decoded path."""
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    from ledger.request_auth import _target_as_sent

    env = EnvironBuilder(path="/a/b", query_string="q=x", base_url="http://127.0.0.1:9").get_environ()
    env.pop("REQUEST_URI", None)
    env.pop("RAW_URI", None)
    env.update(environ)
    assert _target_as_sent(Request(env)) == "http://127.0.0.1:9" + want


def test_half_a_signature_or_two_of_them_is_refused_with_its_reason(keys, verifier):
    req = prepared(keys["service:cv"])
    only_input = {k: v for k, v in req.headers.items() if k != "Signature"}
    with pytest.raises(RequestAuthError, match="^the request carries no Signature and Signature-Input$"):
        verifier.verify(req.method, req.url, only_input, req.body)
    only_signature = {k: v for k, v in req.headers.items() if k != "Signature-Input"}
    with pytest.raises(RequestAuthError, match="^the request carries no Signature and Signature-Input$"):
        verifier.verify(req.method, req.url, only_signature, req.body)
    label, params = req.headers["Signature-Input"].split("=", 1)
    two = {**req.headers, "Signature-Input": f"{label}={params}, other={params}"}
    with pytest.raises(RequestAuthError, match="^Signature-Input must hold exactly one signature$") as err:
        verifier.verify(req.method, req.url, two, req.body)
    assert err.value.slug == "unsigned-request"


def test_a_signature_under_another_label_than_its_input_is_refused(keys, verifier):
    req = prepared(keys["service:cv"])
    label, value = req.headers["Signature"].split("=", 1)
    renamed = {**req.headers, "Signature": f"other={value}"}
    with pytest.raises(RequestAuthError):
        verifier.verify(req.method, req.url, renamed, req.body)


@pytest.mark.parametrize(("nonce", "ok"), [("n" * 15, False), ("n" * 16, True)])
def test_the_nonce_bound_holds_outside_the_canonical_profile_too(tmp_path, nonce, ok):
    """A key id that needs escapes takes the structured-field parser, whose checks must match."""
    odd = RequestSigner('citizen:"quoted"', os.urandom(32))
    req = odd.sign_with_library(requests.Request("GET", URLS[1]).prepare(), nonce=nonce)
    assert _Canonical.parse(CaseInsensitiveDict(req.headers)) is None
    lenient = RequestVerifier({'citizen:"quoted"': odd.public_key()}.get, SqliteReplayStore(tmp_path / "n.sqlite"))
    if ok:
        assert check(lenient, req) == 'citizen:"quoted"'
    else:
        with refused("unsigned-request"):
            check(lenient, req)


@pytest.mark.parametrize("params", ['created="soon";keyid="k";nonce="nnnnnnnnnnnnnnnnnnnn"', 'created=1;keyid=5;nonce="nnnnnnnnnnnnnnnnnnnn"'])
def test_a_signature_whose_time_or_key_id_has_the_wrong_type_is_refused(verifier, params):
    headers = {"Signature-Input": f'sig=("@method");{params}', "Signature": "sig=:" + "A" * 86 + "==:"}
    with pytest.raises(RequestAuthError, match="^the signature must carry keyid, created and a random nonce$") as err:
        verifier.verify("GET", URLS[1], headers, b"")
    assert err.value.slug == "unsigned-request"


def test_a_text_body_is_signed_as_its_utf8_bytes(keys, verifier):
    req = keys["service:cv"].sign(requests.Request("POST", URLS[1], data="å text body").prepare())
    assert check(verifier, req, body="å text body".encode()) == "service:cv"


def _quoted(tmp_path):
    """A signer whose key id needs escapes (so its requests take the library path) and its verifier."""
    odd = RequestSigner('citizen:"quoted"', os.urandom(32))
    return odd, RequestVerifier({'citizen:"quoted"': odd.public_key()}.get, SqliteReplayStore(tmp_path / "q.sqlite"))


def test_outside_the_canonical_profile_a_changed_body_is_refused(tmp_path):
    odd, verifier = _quoted(tmp_path)
    req = odd.sign(requests.Request("POST", URLS[2], data=b'{"a":1}').prepare())
    with pytest.raises(RequestAuthError, match="^the request signature does not verify: ") as err:
        check(verifier, req, body=b'{"a":2}')
    assert err.value.slug == "bad-signature"


def test_outside_the_canonical_profile_a_signature_over_the_method_alone_is_refused(tmp_path):
    odd, verifier = _quoted(tmp_path)
    with refused("bad-signature"):
        check(verifier, _over_the_method_alone(odd))
