"""The operator over HTTP on both chains: relaying, logging, evidence, tiles and refusals."""

import base64
import re

import pytest
import requests

from ledger import citizen, events
from ledger.registry import Registry
from ledger.tlog import merkle, tiles
from ledger.tlog.checkpoint import open_checkpoint
from ledger.tlog.note import Verifier
from ledger.wallet import Wallet

from .helpers import PASSPHRASE, grant_via_operator, relay_item, revoke_signature, signed_grant


@pytest.fixture
def wallet(tmp_path):
    return Wallet.create(tmp_path / "wallet.json", PASSPHRASE)


def test_grant_is_relayed_logged_anchored_and_proven(operator, wallet):
    rcpt = grant_via_operator(operator, wallet)
    log = operator.runtime.log
    entry = events.decode(base64.b64decode(rcpt["log"]["entry"]))
    assert entry["type"] == events.CONSENT_GRANTED and entry["consent_id"] == rcpt["grant"]["consent_id"]
    assert operator.runtime.registry.anchors()[-1].root == log.root(rcpt["anchor"]["size"])
    # the wallet kept record and salt before anything was sent
    assert wallet.consent(rcpt["record"]["record_id"])["salt"] == rcpt["salt"][2:]


def test_checkpoint_and_tiles_verify_independently(operator, wallet):
    for _ in range(3):
        grant_via_operator(operator, wallet)
    info = requests.get(operator.url + "/ledger/info").json()
    cp = open_checkpoint(requests.get(operator.url + "/log/checkpoint").text, Verifier.from_vkey(info["log"]["vkey"]), info["log"]["origin"])
    assert requests.get(operator.url + "/log/checkpoint").headers["Content-Type"] == "text/plain; charset=utf-8"
    bundle = requests.get(f"{operator.url}/log/{tiles.Tile(None, 0, cp.size).path}").content
    entries = tiles.decode_bundle(bundle)
    assert merkle.root_of(entries) == cp.root
    level0 = requests.get(f"{operator.url}/log/{tiles.Tile(0, 0, cp.size).path}").content
    assert level0 == b"".join(merkle.leaf_hash(e) for e in entries)
    missing = requests.get(f"{operator.url}/log/tile/0/000")  # a full tile does not exist yet
    assert missing.status_code == 404 and missing.headers["Content-Type"] == "application/problem+json"
    assert missing.json()["type"].endswith("/tile-not-found")


def _published(operator):
    info = requests.get(operator.url + "/ledger/info").json()
    return open_checkpoint(requests.get(operator.url + "/log/checkpoint").text, Verifier.from_vkey(info["log"]["vkey"]), info["log"]["origin"])


def test_an_entry_is_published_within_the_interval_or_at_once_for_its_proof(operator, wallet):
    grant_via_operator(operator, wallet)  # the follower publishes the chain events it logs
    log = operator.runtime.log
    published = _published(operator).size
    assert published == log.head
    index = log.append([b'{"type":"data.read"}'])  # durable and indexed, not yet in a checkpoint
    assert (index, _published(operator).size) == (published, published)
    resp = requests.get(operator.url + "/log/proof/inclusion", params={"index": index})
    assert resp.status_code == 200 and resp.json()["size"] == index + 1  # published on demand
    cp = _published(operator)
    path = [base64.b64decode(h) for h in resp.json()["proof"]]
    merkle.verify_inclusion(index, cp.size, merkle.leaf_hash(b'{"type":"data.read"}'), path, cp.root)
    beyond = requests.get(operator.url + "/log/proof/inclusion", params={"index": index + 1})
    assert beyond.status_code == 400 and beyond.json()["type"].endswith("/bad-request")


def test_the_background_loop_publishes_entries_left_waiting(node, tmp_path):
    from devchain.nodes import wait_until

    from .conftest import LiveOperator

    op = LiveOperator(node, tmp_path / "op", background=True)
    try:
        log = op.runtime.log
        log.append([b'{"type":"data.read"}'])
        wait_until(lambda: log.size == log.head, "the waiting entry to be published", 30)
        assert log.publish_seconds == 1.0 and log.signed_root(log.head) == merkle.root_of(log.entries(0, log.head))
    finally:
        op.close()


def test_revocation_through_the_operator_is_logged(operator, wallet):
    rcpt = grant_via_operator(operator, wallet)
    cid = rcpt["grant"]["consent_id"]
    out = citizen.revoke_via_operator(wallet, citizen.OperatorClient(operator.url), cid)
    [indices] = [c["log_indices"] for c in out["consents"]]
    kinds = [events.decode(operator.runtime.log.entry(i))["type"] for i in indices]
    assert kinds == [events.CONSENT_GRANTED, events.CONSENT_REVOKED]
    status = requests.get(f"{operator.url}/ledger/consents/{cid}").json()
    assert status["active"] is False and status["revoked_at"]
    with pytest.raises(citizen.OperatorError) as replay:  # the same signed revocation, replayed
        citizen.revoke_via_operator(wallet, citizen.OperatorClient(operator.url), cid)
    assert replay.value.problem["type"].endswith("/already-revoked") and replay.value.problem["status"] == 409
    garbage = requests.post(operator.url + "/ledger/revocations", json={"consent_id": cid, "signature": "0x" + "11" * 65})
    assert garbage.status_code == 409 and garbage.json()["type"].endswith("/invalid-signature")


def test_direct_on_chain_revocation_is_logged_by_the_follower(operator, wallet, node):
    rcpt = grant_via_operator(operator, wallet)
    cid = rcpt["grant"]["consent_id"]
    registry = Registry(operator.runtime.client, rcpt["chain"]["contract"])
    follower = operator.runtime.follower
    state_before = follower.position().state
    citizen.revoke_on_chain(wallet, registry, cid)
    assert follower.sync() == 1
    last = events.decode(operator.runtime.log.entry(operator.runtime.log.head - 1))
    assert last["type"] == events.CONSENT_REVOKED and last["consent_id"] == cid
    assert last["relayer"] == last["signer"]  # sent by the citizen's own key
    head = operator.runtime.client.w3.eth.get_block("latest")
    position = follower.position()
    assert (position.block, position.chain_time, position.lagging) == (follower.last_block, follower.chain_time(), False) == (head["number"], head["timestamp"], False)
    assert position.state != state_before  # the revocation came with a new state token


def test_a_grant_relayed_twice_is_refused_and_logged_once(operator, wallet):
    grant, _, _, account = signed_grant(operator.runtime.registry)
    body = {"grants": [relay_item(grant, account)]}
    assert requests.post(operator.url + "/ledger/grants", json=body).status_code == 201
    replay = requests.post(operator.url + "/ledger/grants", json=body)
    assert replay.status_code == 409 and replay.json()["type"].endswith("/consent-exists")
    assert len(operator.runtime.log.find("consent:0x" + grant.consent_id.hex())) == 1


AUTH = {"citizen": "citizen:" + "ab" * 32, "service": "cv-builder", "signature": "A" * 86 + "=="}  # well-formed, not valid


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/ledger/grants", {"grants": []}, "grants"),
        ("/ledger/grants", {"grants": [{"consent_id": "0x12"}]}, "grants[0].commitment"),  # missing fields first
        ("/ledger/grants", {"grants": [{"consent_id": "0x" + "1" * 64, "commitment": "0x" + "2" * 64, "expires_at": 5, "signature": "0x" + "3" * 130}]}, "grants[0].authorization"),
        ("/ledger/grants", {"grants": [{"consent_id": "0x" + "1" * 64, "commitment": "0x" + "2" * 64, "expires_at": True, "signature": "0x" + "3" * 130, "authorization": AUTH}]}, "grants[0].expires_at"),
        ("/ledger/grants", {"grants": [{"consent_id": "0x" + "1" * 64, "commitment": "0x" + "2" * 64, "expires_at": 5, "signature": "0xzz", "authorization": AUTH}]}, "grants[0].signature"),
        ("/ledger/grants", {"grants": [{"consent_id": "0x" + "1" * 64, "commitment": "0x" + "2" * 64, "expires_at": 5, "signature": "0x" + "f" * 128 + "1b", "authorization": AUTH}]}, "grants[0].signature"),
        ("/ledger/revocations", {"consent_id": "nope", "signature": "0x" + "1" * 130}, "consent_id"),
        ("/ledger/revocations", {"consent_id": "0x" + "1" * 64, "signature": "0x" + "1" * 130, "extra": 1}, "extra"),
    ],
)
def test_bad_requests_get_problem_json_naming_the_field(operator, path, body, field):
    size = operator.runtime.log.head
    resp = requests.post(operator.url + path, json=body)
    assert resp.status_code == 400 and resp.headers["Content-Type"] == "application/problem+json"
    assert resp.json()["type"].endswith("/bad-request") and resp.json()["field"] == field
    assert operator.runtime.log.head == size


@pytest.mark.parametrize("forgery", ["no citizen signed it", "another key", "another consent"])
def test_a_grant_whose_key_no_citizen_authorized_is_not_relayed(operator, forgery):
    """The operator's own check: a consent it (or anyone) made up with a fresh key is refused."""
    registry = operator.runtime.registry
    grant, _, _, account = signed_grant(registry)
    item = relay_item(grant, account)
    if forgery == "no citizen signed it":
        item["authorization"]["signature"] = relay_item(*signed_grant(registry)[::3])["authorization"]["signature"]
    elif forgery == "another key":  # a citizen authorized some other key for this consent
        other_grant, _, _, other_account = signed_grant(registry)
        item["authorization"] = relay_item(grant, other_account)["authorization"]
    else:
        other_grant, _, _, other_account = signed_grant(registry)
        item["authorization"] = relay_item(other_grant, other_account)["authorization"]
    size = operator.runtime.log.head
    resp = requests.post(operator.url + "/ledger/grants", json={"grants": [item]})
    assert resp.status_code == 400 and resp.json()["field"] == "grants[0].authorization", resp.text
    assert not registry.consent(grant.consent_id).exists and operator.runtime.log.head == size


def test_non_json_body_and_unknown_consent_are_refused(operator):
    assert requests.post(operator.url + "/ledger/grants", data="x").json()["type"].endswith("/bad-request")
    resp = requests.get(f"{operator.url}/ledger/consents/0x{'ab' * 32}")
    assert resp.status_code == 404 and resp.json()["type"].endswith("/unknown-consent")
    assert requests.get(f"{operator.url}/ledger/consents/0x{'ab' * 32}/evidence").status_code == 404


def test_signature_by_another_key_cannot_revoke(operator, wallet):
    rcpt = grant_via_operator(operator, wallet)
    cid = bytes.fromhex(rcpt["grant"]["consent_id"][2:])
    from eth_account import Account

    sig = revoke_signature(operator.runtime.registry, Account.create(), cid)
    resp = requests.post(operator.url + "/ledger/revocations", json={"consent_id": "0x" + cid.hex(), "signature": "0x" + sig.hex()})
    assert resp.status_code == 409 and resp.json()["type"].endswith("/not-signer")
    assert operator.runtime.registry.is_active(cid)


def test_anchor_on_demand_needs_the_admin_token(operator, wallet):
    grant_via_operator(operator, wallet)
    grant, *_ = signed_grant(operator.runtime.registry)
    operator.runtime.registry.grant(grant, operator.account)
    operator.runtime.follower.sync()
    assert requests.post(operator.url + "/ledger/anchor").status_code == 401
    bad = requests.post(operator.url + "/ledger/anchor", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json()["type"].endswith("/unauthorized")
    ok = requests.post(operator.url + "/ledger/anchor", headers={"Authorization": f"Bearer {operator.runtime.admin_token}"})
    assert ok.status_code == 200 and ok.json()["size"] == operator.runtime.log.head


def test_scheduled_anchoring_every_n_entries(node, tmp_path):
    from .conftest import LiveOperator

    op = LiveOperator(node, tmp_path / "op", anchor_every_entries=2, anchor_every_seconds=3600)
    try:
        reg = op.runtime.registry
        for _ in range(2):
            reg.grant(signed_grant(reg)[0], op.account)
        op.runtime.follower.sync()
        op.runtime.anchorer.tick()
        assert op.runtime.anchorer.latest().size == 2
        reg.grant(signed_grant(reg)[0], op.account)
        op.runtime.follower.sync()
        op.runtime.anchorer.tick()
        assert op.runtime.anchorer.latest().size == 2  # one new entry is not yet due
    finally:
        op.close()


def test_scheduled_anchoring_after_t_seconds(node, tmp_path):
    from .conftest import LiveOperator

    op = LiveOperator(node, tmp_path / "op", anchor_every_entries=1000, anchor_every_seconds=0)
    try:
        reg = op.runtime.registry
        op.runtime.anchorer.tick()
        assert op.runtime.anchorer.latest() is None  # nothing logged, nothing to anchor
        reg.grant(signed_grant(reg)[0], op.account)
        op.runtime.follower.sync()
        op.runtime.anchorer.tick()
        assert op.runtime.anchorer.latest().size == 1
    finally:
        op.close()


def test_openapi_document_lists_every_route(operator):
    doc = requests.get(operator.url + "/openapi.json").json()
    assert doc["openapi"] == "3.1.0"
    documented = {path for path in doc["paths"]}
    for rule in operator.app.url_map.iter_rules():
        if rule.endpoint in ("static",) or rule.rule == "/openapi.json":
            continue
        named = {"rest": "path", "raw_id": "id", "rid": "id", "sid": "id"}  # route variable -> documented parameter
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: "{" + named.get(m[1], m[1]) + "}", rule.rule)
        assert path in documented, path


def test_the_operator_takes_its_keys_from_any_secret_source(node, tmp_path):
    """The keys come through OperatorSecrets: a source other than the data directory's files
    (a key-management service, say) is used for every key the operator signs with."""
    from nacl.signing import SigningKey

    from consent_operator.keystore import FileSecrets
    from consent_operator.runtime import OperatorRuntime

    from .conftest import LiveOperator

    elsewhere = FileSecrets(tmp_path / "vault")
    asked = []

    class Vault:
        def __getattr__(self, name):
            asked.append(name)
            return getattr(elsewhere, name)

    data = tmp_path / "op"
    op = LiveOperator(node, data)  # provisions the data directory and deploys
    op.close()
    for stale in data.glob("log.sqlite*"):  # a fresh log, so the vault's signing key is the log's
        stale.unlink()
    rt = OperatorRuntime.start(op.config, Vault())
    assert sorted(set(asked)) == ["admin_token", "chain_account", "log_signer", "request_seed"]
    assert rt.notifier.key == bytes(SigningKey(elsewhere.request_seed()).verify_key)  # signs notifications to services
    assert rt.signer.verifier.vkey == elsewhere.log_signer(op.config.log_origin).verifier.vkey
    assert rt.admin_token == elsewhere.admin_token() and rt.account.address == elsewhere.chain_account().address
