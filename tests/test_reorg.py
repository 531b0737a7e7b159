"""The chain follower survives real reorgs on Hardhat (evm_snapshot, mine branch A,
evm_revert, mine a longer branch B): no consent from an orphaned block stays active, every
log entry that mirrored an orphaned event is withdrawn by a `chain.reorged` entry, and the
auditor accepts that log and refuses a withdrawal the chain does not bear out."""

from __future__ import annotations

import json

import pytest

from consent_operator.access.release import current_statuses
from consent_operator.chain.follower import BLOCKS_KEY, ChainReorgTooDeep, default_confirmations
from ledger import eip712, events
from ledger.audit import AuditFailure, run_audit
from ledger.lookup_keys import consent_key, grant_key
from ledger.registry import Registry
from storage.directory import IndexedConsent

from .conftest import LiveOperator
from .helpers import signed_grant

pytestmark = pytest.mark.parametrize("node", ["hardhat"], indirect=True)


def _rpc(op: LiveOperator, method: str, *params):
    answer = op.runtime.client.w3.provider.make_request(method, list(params))
    assert "error" not in answer, answer
    return answer["result"]


def _mine(op: LiveOperator, blocks: int) -> None:
    for _ in range(blocks):
        _rpc(op, "evm_mine")


def _status(op: LiveOperator, grant) -> str:
    """The status a release would judge by (through the process's kept consent states, so a
    withdrawal must reach them too)."""
    consent = IndexedConsent("0x" + grant.consent_id.hex(), "cv-builder", "citizen:x", [{"area": "work", "access": "read"}], grant.expires_at)
    return current_statuses(op.runtime, [consent])[1][0]


def _types(op: LiveOperator) -> list[str]:
    return [events.decode(e)["type"] for e in op.runtime.log.entries(0, op.runtime.log.head)]


def _audit(op: LiveOperator, path):
    client = op.runtime.client
    return run_audit(op.url, lambda chain_id, contract: Registry(client, contract), path)


@pytest.fixture
def op(node, tmp_path):
    operator = LiveOperator(node, tmp_path / "operator", confirmations=0)
    operator.runtime.follower.sync()
    yield operator
    operator.close()


def test_a_grant_from_an_orphaned_block_is_withdrawn_and_logged_again_when_the_winning_branch_has_it(op, tmp_path):
    rt = op.runtime
    grant = signed_grant(rt.registry)[0]
    fork = _rpc(op, "evm_snapshot")
    rt.registry.grant(grant, op.account)  # branch A
    rt.follower.sync()
    assert _status(op, grant) == "active" and _types(op) == [events.CONSENT_GRANTED]

    assert _rpc(op, "evm_revert", fork)
    _mine(op, 3)  # branch B, longer, without the grant
    rt.follower.sync()
    assert not rt.registry.consent(grant.consent_id).exists
    assert _status(op, grant) == "unconfirmed"
    assert _types(op) == [events.CONSENT_GRANTED, events.CHAIN_REORGED]
    withdrawal = events.decode(rt.log.entry(1))
    first = events.decode(rt.log.entry(0))
    assert withdrawal["orphaned"] == [{"event": events.CONSENT_GRANTED, "tx": first["tx"], "log_index": first["log_index"], "consent_id": first["consent_id"]}]
    assert rt.log.find(grant_key(first["consent_id"])) == [0, 1]
    rt.anchorer.anchor_now()
    rt.follower.sync()
    assert _audit(op, tmp_path / "audit.json").entries_by_type == {events.CONSENT_GRANTED: 1, events.CHAIN_REORGED: 1}

    rt.registry.grant(grant, op.account)  # the same signed grant, mined on branch B
    rt.follower.sync()
    assert _status(op, grant) == "active"
    assert rt.log.find(grant_key(first["consent_id"])) == [0, 1, 2]
    rt.anchorer.anchor_now()
    rt.follower.sync()
    assert _audit(op, tmp_path / "audit.json").chain_events_checked == 1


def test_a_revocation_from_an_orphaned_block_is_withdrawn(op):
    rt = op.runtime
    grant, _, _, key = signed_grant(rt.registry)
    rt.registry.grant(grant, op.account)
    rt.follower.sync()
    fork = _rpc(op, "evm_snapshot")
    signature = eip712.sign(key, "Revoke", eip712.revoke_message(grant.consent_id), rt.registry.chain_id, rt.registry.address)
    rt.registry.revoke_by_sig(grant.consent_id, signature, op.account)  # branch A: revoked
    rt.follower.sync()
    assert _status(op, grant) == "revoked"
    assert _rpc(op, "evm_revert", fork)
    _mine(op, 3)
    rt.follower.sync()
    assert _status(op, grant) == "active"  # the winning chain never revoked it
    assert rt.registry.is_active(grant.consent_id)


def test_within_the_confirmation_depth_nothing_from_the_orphaned_branch_is_logged(node, tmp_path):
    op = LiveOperator(node, tmp_path / "operator", confirmations=2)
    try:
        rt = op.runtime
        rt.follower.sync()
        grant = signed_grant(rt.registry)[0]
        fork = _rpc(op, "evm_snapshot")
        rt.registry.grant(grant, op.account)  # branch A: mined, not yet 2 deep
        rt.follower.sync()
        assert _status(op, grant) == "unconfirmed"
        assert rt.log.find(consent_key("0x" + grant.consent_id.hex())) == []
        assert _rpc(op, "evm_revert", fork)
        _mine(op, 4)
        rt.follower.sync()
        assert rt.log.head == 0 and _status(op, grant) == "unconfirmed"

        rt.registry.grant(grant, op.account)  # on branch B, then buried 2 deep
        rt.follower.sync()
        assert _status(op, grant) == "unconfirmed"
        _mine(op, 2)
        rt.follower.sync()
        assert _status(op, grant) == "active" and _types(op) == [events.CONSENT_GRANTED]
    finally:
        op.close()


def test_a_reorg_below_every_remembered_block_stops_the_follower(op):
    rt = op.runtime
    _mine(op, 2)
    rt.follower.sync()
    remembered = json.loads(rt.log.get_meta(BLOCKS_KEY))
    rt.log.append([], {BLOCKS_KEY: json.dumps([[n, "0x" + "00" * 32] for n, _ in remembered])})  # none is on the chain any more
    with pytest.raises(ChainReorgTooDeep, match="below block"):
        rt.follower.sync()


def test_the_auditor_refuses_a_withdrawal_of_an_event_the_chain_has(op, tmp_path):
    rt = op.runtime
    grant = signed_grant(rt.registry)[0]
    rt.registry.grant(grant, op.account)
    rt.follower.sync()
    logged = events.decode(rt.log.entry(0))
    orphaned = {"event": logged["type"], "tx": logged["tx"], "log_index": logged["log_index"], "consent_id": logged["consent_id"]}
    forged = {"type": events.CHAIN_REORGED, "block": logged["block"] - 1, "orphaned": [orphaned], "time": logged["time"]}
    rt.log.append([events.encode(forged)])
    rt.anchorer.anchor_now()
    with pytest.raises(AuditFailure, match="missing from the log"):
        _audit(op, tmp_path / "audit.json")


def test_the_auditor_refuses_a_withdrawal_of_an_event_never_logged(op, tmp_path):
    rt = op.runtime
    orphaned = {"event": events.CONSENT_GRANTED, "tx": "0x" + "ab" * 32, "log_index": 0, "consent_id": "0x" + "cd" * 32}
    forged = {"type": events.CHAIN_REORGED, "block": 1, "orphaned": [orphaned], "time": "2026-11-30T00:00:00Z"}
    rt.log.append([events.encode(forged)])
    rt.anchorer.anchor_now()
    with pytest.raises(AuditFailure, match="which is not logged"):
        _audit(op, tmp_path / "audit.json")


def test_development_chains_need_no_confirmations_and_real_ones_two(op):
    assert default_confirmations(31337) == 0 and default_confirmations(0x776562337079) == 0
    assert default_confirmations(1) == 2 and default_confirmations(11155111) == 2


def test_a_second_reorg_over_the_same_heights_withdraws_only_what_is_still_logged(op, tmp_path):
    rt = op.runtime
    grant = signed_grant(rt.registry)[0]
    cid = "0x" + grant.consent_id.hex()
    fork = _rpc(op, "evm_snapshot")
    rt.registry.grant(grant, op.account)  # branch A
    rt.follower.sync()
    assert _rpc(op, "evm_revert", fork)
    fork = _rpc(op, "evm_snapshot")  # the same fork point, for a third branch
    _mine(op, 3)
    rt.registry.grant(grant, op.account)  # branch B: the grant again, three blocks later
    rt.follower.sync()
    assert _status(op, grant) == "active" and len(rt.log.find(grant_key(cid))) == 3
    assert _rpc(op, "evm_revert", fork)
    _mine(op, 6)  # branch C, longer than B, without the grant
    rt.follower.sync()
    assert _status(op, grant) == "unconfirmed" and len(rt.log.find(grant_key(cid))) == 4
    second = events.decode(rt.log.entry(rt.log.find(grant_key(cid))[-1]))
    assert second["type"] == events.CHAIN_REORGED and len(second["orphaned"]) == 1  # branch B's grant, not branch A's again
    rt.anchorer.anchor_now()
    rt.follower.sync()
    assert _audit(op, tmp_path / "audit.json").entries_by_type == {events.CONSENT_GRANTED: 2, events.CHAIN_REORGED: 2}
