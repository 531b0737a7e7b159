"""The release path: consented reads and writes go through, and every case of the
authorization matrix is refused: logged as a denial when a service asked, unlogged when
the request was not a service's valid signature."""

import datetime as dt
import os
import time

import pytest
import requests
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from cv_service.sdk import ServiceClient
from devchain.nodes import DevNode
from ledger import citizen, events
from ledger.registry import Registry
from ledger.request_auth import RequestSigner
from ledger.wallet import Wallet
from pds.envelope import EnvelopeError, new_data_key, open_envelope, seal, unwrap_key, wrap_key
from storage.log import StaleRead

from .helpers import PASSPHRASE
from .worlds import SKILLS, WORK, World


def assert_denied(world, resp, reason, status=403):
    assert resp.status_code == status and resp.json()["type"].endswith("/" + reason), resp.text
    entry = world.last_entry()
    assert entry["type"] == events.DATA_DENIED and entry["reason"] == reason and entry["area"]


def test_a_consented_read_is_released_and_logged(world):
    cid = world.consent([{"area": "work", "access": "read"}])
    resp = world.read()
    assert resp.status_code == 200
    body = resp.json()
    key = unwrap_key(body["wrapped_key"], world.service_enc)
    assert open_envelope(body["envelope"], key, {bytes(world.citizen_signing.verify_key)}) == WORK
    entry = world.last_entry()
    assert entry["type"] == events.DATA_READ and entry["consent_id"] == cid and entry["block"] == body["checked_block"]
    assert world.cid not in str(entry)  # pseudonymous: the citizen id is only a private lookup key
    assert world.op.runtime.log.find(world.cid)[-1] == world.op.runtime.log.head - 1


def assert_refused_unlogged(world, send, reason):
    """`send()` is answered 401 `reason`, and nothing is logged: not under the citizen, not at all."""
    size = world.op.runtime.log.head
    resp = send()
    assert resp.status_code == 401, resp.text
    assert resp.json()["type"].endswith("/" + reason)
    assert world.op.runtime.log.head == size


def test_wrong_service_is_denied(world):
    world.consent([{"area": "work", "access": "read"}])
    other = ServiceClient(world.op.url, "employer", os.urandom(32), PrivateKey.generate())
    other.register("Employer", "Hires", "https://e.example/cb")
    assert_denied(world, world.read(session=other.operator.session), "no-consent")


def test_wrong_area_and_write_without_write_permission_are_denied(world):
    world.consent([{"area": "work", "access": "read"}])
    assert_denied(world, world.read("education"), "area-not-granted")
    resp = world.service.operator.session.post(f"{world.op.url}/v1/citizens/{world.cid}/areas/work/versions", json={"envelope": {}})
    assert_denied(world, resp, "area-not-granted")


def test_revocation_through_the_operator_denies_the_next_read(world):
    cid = world.consent([{"area": "work", "access": "read"}])
    assert world.read().status_code == 200
    citizen.revoke_via_operator(world.wallet, citizen.OperatorClient(world.op.url), cid)
    assert_denied(world, world.read(), "revoked")


def test_a_release_whose_ledger_keeps_moving_is_answered_503_and_logs_nothing(world, monkeypatch):
    """A release is decided at the position its process read last and logged only while the
    follower still stands there; decided again at a fresh position twice, it then gives up."""
    world.consent([{"area": "work", "access": "read"}])
    log, expected = world.op.runtime.log, []

    def moving(entries, meta=None, keys=None, claim=None, publish=False, expects=None):
        expected.append(expects)
        raise StaleRead("follower.state changed since the append was decided")

    size = log.head
    monkeypatch.setattr(log, "append", moving)
    resp = world.read()
    assert resp.status_code == 503 and resp.json()["type"].endswith("/ledger-moving"), resp.text
    assert len(expected) == 3 and all("follower.state" in e for e in expected)
    monkeypatch.undo()
    assert log.head == size and world.read().status_code == 200


def test_a_direct_revocation_the_watcher_has_noted_is_followed_before_any_release(world):
    """Between the watcher noting the revoking block and the follower logging it, a release
    follows the chain itself first: no release once the operator knows the node has the block."""
    cid = world.consent([{"area": "work", "access": "read"}])
    assert world.read().status_code == 200
    registry = Registry(world.op.runtime.client, world.op.runtime.deployment.address)
    citizen.revoke_on_chain(world.wallet, registry, cid)
    follower = world.op.runtime.follower
    assert follower.note_head() and follower.position().lagging  # noted, not yet followed
    assert_denied(world, world.read(), "revoked")
    assert not follower.position().lagging


def test_the_background_watcher_denies_reads_after_a_direct_revocation(node, tmp_path):
    world = World(node, tmp_path, background=True)
    try:
        cid = world.consent([{"area": "work", "access": "read"}])
        assert world.read().status_code == 200
        receipt = citizen.revoke_on_chain(world.wallet, Registry(world.op.runtime.client, world.op.runtime.deployment.address), cid)
        deadline = time.monotonic() + 30
        while world.op.runtime.follower.last_block < receipt["blockNumber"]:  # nobody but the watcher syncs here
            assert time.monotonic() < deadline, "the watcher did not follow the revoking block"
            time.sleep(0.02)
        assert_denied(world, world.read(), "revoked")
    finally:
        world.close()


def test_a_consent_expires_at_its_expiry_second_as_the_contract_says(tmp_path):
    with DevNode("embedded", tmp_path / "chain", log_file=tmp_path / "chain.log") as node:  # time travel: own node
        _expires_at_the_second(World(node, tmp_path))


def _expires_at_the_second(world):
    try:
        cid = world.consent([{"area": "work", "access": "read"}], days=1)
        expires = world.op.runtime.directory.consent(cid).expires_at
        registry, rpc = world.op.runtime.registry, world.op.runtime.client.w3.provider.make_request
        for at, allowed in ((expires - 1, True), (expires, False)):
            rpc("evm_setNextBlockTimestamp", [at])
            rpc("evm_mine", [])
            world.op.runtime.follower.sync()
            assert registry.is_active(bytes.fromhex(cid[2:])) is allowed
            if allowed:
                assert world.read().status_code == 200
            else:
                assert_denied(world, world.read(), "expired")
    finally:
        world.close()


def test_a_consent_past_expiry_by_this_hosts_clock_is_denied_before_the_chain_moves(world, monkeypatch):
    from consent_operator.access import release

    cid = world.consent([{"area": "work", "access": "read"}], days=1)
    assert world.read().status_code == 200
    monkeypatch.setattr(release, "wall_clock", lambda: world.op.runtime.directory.consent(cid).expires_at)
    assert_denied(world, world.read(), "expired")


def test_revocation_directly_on_chain_denies_reads_once_followed(world):
    cid = world.consent([{"area": "work", "access": "read"}])
    registry = Registry(world.op.runtime.client, world.op.runtime.deployment.address)
    receipt = citizen.revoke_on_chain(world.wallet, registry, cid)
    world.op.runtime.follower.sync()
    assert world.op.runtime.follower.last_block >= receipt["blockNumber"]
    assert_denied(world, world.read(), "revoked")


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda w: RequestSigner("service:cv-builder", os.urandom(32)), "bad-signature"),  # forged
        (lambda w: RequestSigner("service:nobody", os.urandom(32)), "unknown-key"),
    ],
)
def test_forged_and_unknown_callers_are_refused_unlogged_and_counted(world, make, reason):
    world.consent([{"area": "work", "access": "read"}])
    session = requests.Session()
    session.auth = make(world)
    assert_refused_unlogged(world, lambda: world.read(session=session), reason)


def test_replayed_and_stale_requests_are_refused_unlogged(world):
    world.consent([{"area": "work", "access": "read"}])
    ok = world.read()
    assert ok.status_code == 200
    assert_refused_unlogged(world, lambda: requests.Session().send(ok.request), "replayed-request")
    signer = RequestSigner("service:cv-builder", world.service_seed)
    stale = requests.Request("GET", f"{world.op.url}/v1/citizens/{world.cid}/areas/work").prepare()
    signer.sign(stale, created=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10))
    assert_refused_unlogged(world, lambda: requests.Session().send(stale), "stale-request")


def test_a_denied_read_replayed_is_refused_as_a_replay_and_a_replayed_release_adds_nothing(world):
    denied = world.read()  # no consent yet
    assert_denied(world, denied, "no-consent")
    assert_refused_unlogged(world, lambda: requests.Session().send(denied.request), "replayed-request")
    world.consent([{"area": "work", "access": "read"}])
    ok = world.read()
    assert ok.status_code == 200
    assert_refused_unlogged(world, lambda: requests.Session().send(ok.request), "replayed-request")


def test_a_citizen_key_is_refused_unlogged_on_another_citizens_area(world):
    """Citizen keys are self-certifying (anyone can make one): they must not write history either."""
    stranger = Wallet.create(world.op.config.data_dir.parent / "stranger.json", PASSPHRASE)
    session = requests.Session()
    session.auth = RequestSigner(stranger.keys.citizen_id(), stranger.keys.request_seed())
    before = world.op.runtime.log.head
    resp = world.read(session=session)
    assert resp.status_code == 403 and resp.json()["type"].endswith("/forbidden")
    assert world.op.runtime.log.head == before


def test_a_flood_of_unsigned_requests_adds_nothing_to_history_and_meets_the_rate_limit(world):
    world.consent([{"area": "work", "access": "read"}])
    history_before = len(world.op.runtime.log.find(world.cid))
    size_before = world.op.runtime.log.head
    unsigned, limited = 'mydata_refused_requests_total{reason="unsigned-request"}', "mydata_rate_limited_requests_total"
    counted_before = _counters(world, unsigned, limited)  # the test process's operators share one set of counters
    url = f"{world.op.url}/v1/citizens/{world.cid}/areas/work"
    with requests.Session() as s:
        statuses = [s.get(url).status_code for _ in range(2000)]
    assert statuses.count(401) == 60 and statuses.count(429) == 1940  # RateLimitConfig: 60 refusals a minute per address
    assert len(world.op.runtime.log.find(world.cid)) == history_before
    assert world.op.runtime.log.head == size_before
    after = _counters(world, unsigned, limited)
    assert (after[0] - counted_before[0], after[1] - counted_before[1]) == (60, 1940)


def _counters(world, *names):
    """Values of Prometheus samples at the operator's /metrics (0 for one not yet sampled)."""
    lines = dict(line.rsplit(" ", 1) for line in requests.get(f"{world.op.url}/metrics").text.splitlines() if line and not line.startswith("#"))
    return [float(lines.get(name, 0)) for name in names]


def test_a_write_under_write_consent_lands_in_the_pds_signed_by_the_service(world):
    world.consent([{"area": "certificates", "access": "write"}])
    service_signing = SigningKey(world.service_seed)
    key = new_data_key()
    cert = [{"name": "Certified Developer", "issuer": "CV Builder"}]
    body = {
        "version": 1, "key_version": 1, "envelope": seal("certificates", 1, cert, key, service_signing),
        "wrapped": {world.cid: wrap_key(key, bytes(world.wallet.keys.encryption_key().public_key))},
    }
    resp = world.service.operator.session.post(f"{world.op.url}/v1/citizens/{world.cid}/areas/certificates/versions", json=body)
    assert resp.status_code == 201, resp.text
    assert world.last_entry()["type"] == events.DATA_WRITTEN
    base = f"{world.pds_url}/pds/v1/citizens/{world.cid}/areas/certificates"
    stored = world.citizen_pds.get(f"{base}/versions/latest").json()
    wrapped = world.citizen_pds.get(f"{base}/keys/1/{world.cid}").json()["wrapped"]
    got = open_envelope(stored["envelope"], unwrap_key(wrapped, world.wallet.keys.encryption_key()), {bytes(service_signing.verify_key)})
    assert got == cert


@pytest.mark.parametrize("kind", ["embedded", "hardhat"])
def test_expiry_by_chain_time_is_denied_and_logged_once(kind, tmp_path):
    with DevNode(kind, tmp_path / "chain", log_file=tmp_path / "chain.log") as node:  # time travel: own node
        world = World(node, tmp_path)
        try:
            cid = world.consent([{"area": "work", "access": "read"}], days=1)
            assert world.read().status_code == 200
            node.increase_time(2 * 86400)
            world.op.runtime.follower.sync()
            assert_denied(world, world.read(), "expired")
            assert_denied(world, world.read(), "expired")
            log = world.op.runtime.log
            expired = [events.decode(log.entry(i)) for i in log.find("consent:" + cid)]
            assert [e["type"] for e in expired].count(events.CONSENT_EXPIRED) == 1
        finally:
            world.close()


def test_access_history_lists_grants_reads_and_denials_with_proofs_the_citizen_verifies(world):
    from ledger.history import verify_history

    cid = world.consent([{"area": "work", "access": "read"}])
    assert world.read().status_code == 200
    assert world.read("education").status_code == 403
    world.op.runtime.anchorer.anchor_now()
    history = world.citizen_op.get(f"/v1/citizens/{world.cid}/history").json()
    registry = Registry(world.op.runtime.client, world.op.runtime.deployment.address)
    checked = verify_history(history, registry, world.op.runtime.signer.verifier.vkey)
    kinds = [(e["entry"]["type"], e["status"]) for e in checked]
    assert kinds == [(events.CONSENT_GRANTED, "verified"), (events.DATA_READ, "verified"), (events.DATA_DENIED, "verified")]
    assert checked[0]["entry"]["consent_id"] == cid

    tampered = {**history, "entries": [{**history["entries"][1], "entry": {**history["entries"][1]["entry"], "area": "skills"}}]}
    assert verify_history(tampered, registry, world.op.runtime.signer.verifier.vkey)[0]["status"] == "failed"

    other = Wallet.create(world.op.config.data_dir.parent / "bertil.json", PASSPHRASE)
    with pytest.raises(citizen.OperatorError) as err:
        citizen.signed_operator(other, world.op.url).get(f"/v1/citizens/{world.cid}/history")
    assert err.value.problem["type"].endswith("/forbidden")


def test_changing_the_locks_shuts_out_the_revoked_service_but_not_the_others(node, tmp_path):
    world = World(node, tmp_path, release_cache_seconds=0)  # the employer's next read must see the new version at once
    try:
        _change_locks(world)
    finally:
        world.close()


def _change_locks(world):
    from pds.client import CitizenPds

    employer_enc = PrivateKey.generate()
    employer = ServiceClient(world.op.url, "employer", os.urandom(32), employer_enc)
    employer.register("Employer", "Hires", "https://e.example/cb")
    cv_cid = world.consent([{"area": "skills", "access": "read"}])
    employer.request_consent(world.cid, ["dpv:Recruitment"], [{"area": "skills", "access": "read"}], 30, "https://e.example/n", b"n")
    pending = citizen.pending_requests(world.wallet, world.citizen_op)[0]
    citizen.approve(world.wallet, world.citizen_op, pending)

    pds = CitizenPds(world.wallet, world.pds_url, citizen.OperatorClient(world.op.url))
    assert pds.write("skills", SKILLS) == 1
    old = world.read("skills").json()  # cv-builder's release of version 1
    assert employer.operator.session.get(f"{world.op.url}/v1/citizens/{world.cid}/areas/skills").status_code == 200

    citizen.revoke_via_operator(world.wallet, citizen.OperatorClient(world.op.url), cv_cid)
    assert pds.change_locks("skills") == 2
    assert pds.read("skills") == SKILLS
    fresh = employer.operator.session.get(f"{world.op.url}/v1/citizens/{world.cid}/areas/skills").json()
    assert fresh["version"] == 2 and fresh["key_version"] == 2
    writer = {bytes(world.citizen_signing.verify_key)}
    assert open_envelope(fresh["envelope"], unwrap_key(fresh["wrapped_key"], employer_enc), writer) == SKILLS
    stale_key = unwrap_key(old["wrapped_key"], world.service_enc)  # what the revoked service kept
    with pytest.raises(EnvelopeError, match="does not open"):
        open_envelope(fresh["envelope"], stale_key, writer)
    assert_denied(world, world.read("skills"), "revoked")


def test_the_citizen_side_refuses_an_invalid_cv_section_before_sealing(world):
    from pds.client import CitizenPds
    from pds.resume import ResumeError

    pds = CitizenPds(world.wallet, world.pds_url, citizen.OperatorClient(world.op.url))
    with pytest.raises(ResumeError, match=r"^skills\[0\]\.name: is required"):
        pds.write("skills", [{"level": "expert"}])
    assert pds.read("skills") is None


def test_the_sdk_reads_and_writes_areas_end_to_end(world):
    from pds.client import CitizenPds

    world.consent([{"area": "skills", "access": "read"}, {"area": "certificates", "access": "write"}])
    pds = CitizenPds(world.wallet, world.pds_url, citizen.OperatorClient(world.op.url))
    pds.write("skills", SKILLS)
    assert world.service.read_area(world.cid, "skills") == SKILLS
    cert = [{"name": "Certified Developer", "issuer": "CV Builder", "date": "2026-11-22"}]
    assert world.service.write_area(world.cid, "certificates", cert) == 1
    assert world.service.write_area(world.cid, "certificates", cert + [{"name": "Second"}]) == 2
    issuer = bytes(SigningKey(world.service_seed).verify_key)
    assert pds.read("certificates", {issuer}) == cert + [{"name": "Second"}]
    with pytest.raises(citizen.OperatorError) as err:  # read consent does not allow writing
        world.service.write_area(world.cid, "skills", SKILLS)
    assert err.value.problem["type"].endswith("/area-not-granted")
    with pytest.raises(citizen.OperatorError) as err:  # write consent does not allow reading
        world.service.read_area(world.cid, "certificates")
    assert err.value.problem["type"].endswith("/area-not-granted")


def test_the_sdk_verifies_the_receipt_of_an_approved_request_and_refuses_a_forged_one(world):
    from ledger.receipt import ReceiptError

    world.consent([{"area": "work", "access": "read"}])
    [request] = [r for r in world.op.runtime.directory.requests_of(world.cid) if r["status"] == "approved"]
    rcpt = world.service.consent_request(request["id"])["receipt"]
    assert world.service.verify_receipt(rcpt, world.op.runtime.client.w3.provider.endpoint_uri).status == "active"
    forged = {**rcpt, "record": {**rcpt["record"], "purposes": ["dpv:Marketing"]}}
    with pytest.raises(ReceiptError):
        world.service.verify_receipt(forged, world.op.runtime.client.w3.provider.endpoint_uri)


def test_the_operators_own_anchor_block_is_followed_at_once_so_releases_never_wait_on_it(node, tmp_path):
    world = World(node, tmp_path, anchor_every_entries=1)
    try:
        world.consent([{"area": "work", "access": "read"}])
        assert world.read().status_code == 200
        runtime = world.op.runtime
        before = runtime.anchorer.latest()
        runtime.anchor_and_follow()
        anchor = runtime.anchorer.latest()
        assert anchor != before and runtime.follower.last_block >= anchor.block
        assert not runtime.follower.note_head() and not runtime.follower.position().lagging  # nothing left to follow
    finally:
        world.close()
