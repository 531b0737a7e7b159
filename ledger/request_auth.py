"""Signed, replay-protected HTTP requests: RFC 9421 HTTP Message Signatures with Ed25519.

Every request from a service or a citizen signs `@method`, `@path`, `@query` and its
`Content-Digest` (RFC 9530, SHA-256 of the body), with a `created` time and a random
`nonce`. A verifier accepts each (key id, nonce) once: the pair is stored durably for
the replay window, so a replayed request is refused even by another worker process.
Unsigned, stale or future-dated, replayed, tampered, unknown-key and wrongly-signed
requests are each refused with their own reason.
"""

from __future__ import annotations

import datetime as dt
import secrets
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import http_sf
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from http_message_signatures import (
    HTTPMessageSignaturesException,
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    algorithms,
)
from requests.structures import CaseInsensitiveDict

from .sqlite_util import connect

COVERED = ("@method", "@path", "@query", "content-digest")
WINDOW = dt.timedelta(minutes=5)


class RequestAuthError(Exception):
    """A request is refused; `slug` is the stable problem type."""

    def __init__(self, slug: str, detail: str):
        super().__init__(detail)
        self.slug = slug


class RequestSigner(requests.auth.AuthBase):
    """`requests` auth that signs each request with an Ed25519 key (32-byte seed)."""

    def __init__(self, key_id: str, seed: bytes):
        self.key_id = key_id
        self._key = Ed25519PrivateKey.from_private_bytes(seed)

    def public_key(self) -> bytes:
        return self._key.public_key().public_bytes_raw()

    def sign(self, prepared: requests.PreparedRequest, created: dt.datetime | None = None, nonce: str | None = None):
        key = self._key

        class _Resolver(HTTPSignatureKeyResolver):
            def resolve_private_key(self, key_id):
                return key

        HTTPMessageSigner(signature_algorithm=algorithms.ED25519, key_resolver=_Resolver()).sign(
            prepared,
            key_id=self.key_id,
            created=created or dt.datetime.now(dt.UTC),
            nonce=nonce or secrets.token_urlsafe(18),
            covered_component_ids=COVERED,
            body=_body(prepared.body),
        )
        return prepared

    def __call__(self, prepared: requests.PreparedRequest) -> requests.PreparedRequest:
        return self.sign(prepared)


def _body(body) -> bytes:
    if body is None:
        return b""
    return body.encode() if isinstance(body, str) else bytes(body)


class NonceStore:
    """Seen (key id, nonce) pairs in SQLite, kept until their replay window has passed."""

    def __init__(self, path: str | Path):
        self._conn = connect(path)
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS request_nonces (key_id TEXT NOT NULL, nonce TEXT NOT NULL,"
            " expires_at REAL NOT NULL, PRIMARY KEY (key_id, nonce)) WITHOUT ROWID"
        )
        self._uses = 0

    def use(self, key_id: str, nonce: str, expires_at: float) -> bool:
        """Record a nonce; False if it was seen before (a replay)."""
        self._uses += 1
        if self._uses % 1000 == 0:
            self._conn.execute("DELETE FROM request_nonces WHERE expires_at < ?", (time.time(),))
        try:
            self._conn.execute("INSERT INTO request_nonces VALUES (?, ?, ?)", (key_id, nonce, expires_at))
        except sqlite3.IntegrityError:
            return False
        return True


class _Message:
    def __init__(self, method: str, url: str, headers):
        self.method, self.url, self.headers = method, url, CaseInsensitiveDict(dict(headers))


def _signature_input(headers) -> dict:
    """The parameters (keyid, created, nonce, …) of the request's single signature."""
    if "signature" not in headers or "signature-input" not in headers:
        raise RequestAuthError("unsigned-request", "the request carries no Signature and Signature-Input")
    try:
        inputs = http_sf.parse(headers["signature-input"].encode(), tltype="dictionary")
        [(_, params)] = [v for v in inputs.values()]
    except (ValueError, TypeError):
        raise RequestAuthError("unsigned-request", "Signature-Input must hold exactly one signature") from None
    return params


def claimed_key_id(headers) -> str | None:
    """The key id a request claims, verified or not (for logging refusals)."""
    try:
        key_id = _signature_input(CaseInsensitiveDict(dict(headers))).get("keyid")
    except RequestAuthError:
        return None
    return key_id if isinstance(key_id, str) else None


def _signature_params(headers) -> tuple[str, int, str]:
    """keyid, created and nonce of the request's single signature."""
    params = _signature_input(headers)
    key_id, created, nonce = params.get("keyid"), params.get("created"), params.get("nonce")
    if not isinstance(key_id, str) or not isinstance(created, int) or not isinstance(nonce, str) or len(nonce) < 16:
        raise RequestAuthError("unsigned-request", "the signature must carry keyid, created and a random nonce")
    return key_id, created, nonce


class RequestVerifier:
    """Verifies signed requests against public keys found by `public_key_for(key_id)`."""

    def __init__(self, public_key_for: Callable[[str], bytes | None], nonces: NonceStore, window: dt.timedelta = WINDOW):
        self.public_key_for = public_key_for
        self.nonces = nonces
        self.window = window

    def verify(self, method: str, url: str, headers, body: bytes) -> str:
        """Return the key id of a valid, fresh, first-seen request; raise RequestAuthError otherwise."""
        msg = _Message(method, url, headers)
        key_id, created, nonce = _signature_params(msg.headers)
        public_key = self.public_key_for(key_id)
        if public_key is None:
            raise RequestAuthError("unknown-key", f"no key is registered as {key_id!r}")
        now = time.time()
        if not now - self.window.total_seconds() <= created <= now:
            raise RequestAuthError("stale-request", f"the request was signed at {created}, outside the replay window")

        class _Resolver(HTTPSignatureKeyResolver):
            def resolve_public_key(self, _key_id):
                return Ed25519PublicKey.from_public_bytes(public_key)

        verifier = HTTPMessageVerifier(signature_algorithm=algorithms.ED25519, key_resolver=_Resolver())
        try:
            verifier.verify(msg, max_age=None, require_components=COVERED, body=body)
        except (HTTPMessageSignaturesException, ValueError) as exc:
            raise RequestAuthError("bad-signature", f"the request signature does not verify: {exc}") from None
        if not self.nonces.use(key_id, nonce, created + self.window.total_seconds()):
            raise RequestAuthError("replayed-request", "this signed request was already used")
        return key_id

    def verify_flask(self, request) -> str:
        """Verify the current Flask request (method, full URL, headers, raw body)."""
        return self.verify(request.method, request.url, request.headers, request.get_data())

    def verify_with(self, public_key_for: Callable[[str], bytes | None], request) -> str:
        """Verify a Flask request with another key lookup (e.g. a key presented for registration)."""
        return RequestVerifier(public_key_for, self.nonces, self.window).verify_flask(request)
