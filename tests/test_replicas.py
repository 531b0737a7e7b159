"""Two operator replicas over one PostgreSQL database share what each signed request must
meet on every replica: its nonce and the rate-limit budgets. A database that goes away
costs requests a 503 problem, and they recover when it is back, under load too, losing
nothing acknowledged."""

from __future__ import annotations

import hashlib
import secrets

import psycopg
import pytest
import requests

from devchain.nodes import wait_until
from devchain.postgres import PostgresServer
from ledger import citizen

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


def test_a_revocation_through_one_replica_denies_the_next_read_on_the_other(replicas):
    """Replica B keeps what the log says of the consent between reads (ConsentStates); the
    revocation A logs changes the follower's state token, so B's very next read looks again."""
    world, b = replicas
    cid = world.consent([{"area": "work", "access": "read"}])
    session = world.service.operator.session
    url = f"{b.url}/v1/citizens/{world.cid}/areas/work"
    assert session.get(url).status_code == 200 and session.get(url).status_code == 200  # the second from what B kept
    citizen.revoke_via_operator(world.wallet, citizen.OperatorClient(world.op.url), cid)
    resp = session.get(url)
    assert resp.status_code == 403 and resp.json()["type"].endswith("/revoked")


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


def test_a_database_restarted_under_load_loses_nothing_acknowledged(node, tmp_path):
    """Four clients keep asking for consent while PostgreSQL crashes and comes back: each
    answer is a 201 or a 503 problem (never a 500), and every 201 is there afterwards."""
    import threading

    with PostgresServer() as pg:
        url = pg.create_database("restart")
        _migrate(url)
        world = World(node, tmp_path, database_url=url)
        acknowledged: list[str] = []
        refusals: list[str] = []  # the content type of every answer that was not a 201
        statuses: dict[int, int] = {}
        stop = threading.Event()

        def client() -> None:
            session = requests.Session()
            while not stop.is_set():
                try:
                    resp = session.send(_consent_request(world), timeout=30)
                except requests.ConnectionError:
                    continue
                statuses[resp.status_code] = statuses.get(resp.status_code, 0) + 1
                if resp.status_code == 201:
                    acknowledged.append(resp.json()["id"])
                else:
                    refusals.append(resp.headers.get("Content-Type", ""))

        try:
            clients = [threading.Thread(target=client) for _ in range(4)]
            for t in clients:
                t.start()
            wait_until(lambda: len(acknowledged) >= 10, "requests before the crash", 30)
            pg.stop("immediate")
            wait_until(lambda: statuses.get(503, 0) >= 4, "503 problems while the database is down", 30)
            pg.resume()
            before = len(acknowledged)
            wait_until(lambda: len(acknowledged) >= before + 10, "requests to succeed again by themselves", 60)
            stop.set()
            for t in clients:
                t.join()
            assert set(statuses) <= {201, 503}, statuses
            assert set(refusals) == {"application/problem+json"}
            missing = [rid for rid in acknowledged if world.op.runtime.directory.request(rid) is None]
            assert missing == [] and len(set(acknowledged)) == len(acknowledged)
        finally:
            stop.set()
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
