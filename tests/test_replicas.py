"""Two operator replicas over one PostgreSQL database share what each signed request must
meet on every replica: its nonce and the rate-limit budgets. A database that goes away
costs requests a 503 problem, and they recover when it is back."""

from __future__ import annotations

import hashlib
import secrets

import psycopg
import pytest
import requests

from devchain.nodes import wait_until
from devchain.postgres import PostgresServer

from .conftest import LiveOperator
from .helpers import mydata
from .worlds import World


def _consent_request(world) -> requests.PreparedRequest:
    """A service's signed POST /v1/consent-requests, prepared (so it can be sent twice)."""
    body = {
        "citizen": world.cid, "purposes": ["dpv:ServiceProvision"], "permissions": [{"area": "work", "access": "read"}],
        "duration_days": 30, "notice_url": "https://cv.example/n", "notice_sha256": hashlib.sha256(b"n").hexdigest(),
    }
    session = world.service.operator.session
    return session.prepare_request(requests.Request("POST", f"{world.op.url}/v1/consent-requests", json=body))


@pytest.fixture
def replicas(node, tmp_path, pg_url):
    """Replica A (the world's operator) and replica B, one data directory, one database."""
    world = World(node, tmp_path, database_url=pg_url)
    b = LiveOperator(node, world.op.config.data_dir, pds_url=world.pds_url, database_url=pg_url)
    yield world, b
    b.close()
    world.close()


def test_a_nonce_used_on_one_replica_is_refused_on_the_other(replicas, pg_url):
    world, b = replicas
    signed = _consent_request(world)
    assert requests.Session().send(signed).status_code == 201
    replay = requests.Request("POST", signed.url.replace(world.op.url, b.url), data=signed.body, headers=dict(signed.headers))
    resp = requests.Session().send(replay.prepare())
    assert resp.status_code == 401 and resp.json()["type"].endswith("/replayed-request")
    with psycopg.connect(pg_url) as db:  # the database refused it, not a file both replicas happen to share
        assert db.execute("SELECT count(*) FROM request_nonces WHERE key_id = 'service:cv-builder'").fetchone()[0] >= 1
    assert not (world.op.config.data_dir / "nonces.sqlite").exists()


def test_the_refused_request_budget_holds_across_replicas(replicas):
    world, b = replicas
    urls = [f"{op.url}/v1/citizens/{world.cid}/areas/work" for op in (world.op, b)]
    with requests.Session() as s:
        statuses = [s.get(urls[i % 2]).status_code for i in range(400)]
    assert statuses.count(401) == 60 and statuses.count(429) == 340  # RateLimitConfig: 60 a minute per address, in all


def test_a_database_outage_answers_503_and_requests_recover_by_themselves(node, tmp_path):
    with PostgresServer() as pg:
        url = pg.create_database("outage")
        _migrate(url)
        world = World(node, tmp_path, database_url=url)
        try:
            assert requests.Session().send(_consent_request(world)).status_code == 201
            pg.stop("immediate")  # a crash: no shutdown checkpoint
            resp = requests.Session().send(_consent_request(world))
            assert resp.status_code == 503 and resp.headers["Content-Type"] == "application/problem+json"
            assert resp.json()["type"].endswith("/storage-unavailable")
            unsigned = requests.get(f"{world.op.url}/v1/citizens/{world.cid}/areas/work")
            assert unsigned.status_code == 503 and unsigned.json()["type"].endswith("/storage-unavailable")
            pg.resume()
            wait_until(lambda: requests.Session().send(_consent_request(world)).status_code == 201, "requests to succeed again", 30)
        finally:
            world.close()


def test_an_operator_refuses_to_start_on_a_database_without_its_schema(node, tmp_path, postgres):
    from storage.backends import SchemaOutdated

    bare = postgres.create_database("bare_" + secrets.token_hex(4))
    with pytest.raises(SchemaOutdated, match="run `mydata db migrate`"):
        World(node, tmp_path, database_url=bare)


def _migrate(url: str) -> None:
    from storage.backends import PostgresBackend

    backend = PostgresBackend(url)
    backend.migrate()
    backend.db.close()


def test_operator_init_provisions_keys_once_and_a_replica_with_other_keys_is_refused(replicas, pg_url, tmp_path, node):
    from storage.log import WrongLogKey

    world, _ = replicas
    first = mydata("operator", "init", "--data-dir", str(world.op.config.data_dir)).stdout
    assert first == mydata("operator", "init", "--data-dir", str(world.op.config.data_dir)).stdout  # kept, not replaced
    names = [line.split(":")[0] for line in first.splitlines()]
    assert names == ["chain address", "log verifier key", "request key"]
    assert world.op.runtime.signer.verifier.vkey in first
    stray = tmp_path / "stray"
    mydata("operator", "init", "--data-dir", str(stray))  # keys of its own
    with pytest.raises(WrongLogKey, match="use the operator's provisioned keys"):
        LiveOperator(node, stray, database_url=pg_url)
