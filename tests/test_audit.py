"""The auditor accepts an honest operator and names the first inconsistency of a dishonest one."""

import json
import os

import pytest

from consent_operator.chain.follower import CURSOR_KEY
from ledger import events
from ledger.audit import AuditFailure, run_audit
from ledger.chain import ChainClient
from ledger.registry import Registry
from ledger.tlog.note import Signer

from .helpers import signed_grant


@pytest.fixture
def audit(operator, tmp_path):
    client = ChainClient(operator.config.chain_url)
    state = tmp_path / "auditor.json"

    def run(**kw):
        return run_audit(operator.url, lambda chain_id, contract: Registry(client, contract), state, **kw)

    run.state = state
    return run


def grant_n(operator, n, batch=50):
    reg = operator.runtime.registry
    while n > 0:
        reg.grant_batch([signed_grant(reg)[0] for _ in range(min(n, batch))], operator.account)
        n -= batch
    operator.runtime.follower.sync()
    operator.runtime.log.publish()  # what an auditor sees: published now rather than within the interval


def test_honest_log_passes_and_later_audits_check_consistency(operator, audit):
    grant_n(operator, 3)
    operator.runtime.anchorer.anchor_now()
    first = audit()
    assert (first.size, first.previous_size, first.anchors_checked, first.chain_events_checked) == (3, 0, 1, 3)
    grant_n(operator, 300)  # crosses a full tile
    operator.runtime.anchorer.anchor_now()
    second = audit()
    assert (second.size, second.previous_size, second.anchors_checked) == (303, 3, 2)
    assert second.entries_by_type == {events.CONSENT_GRANTED: 303}


def test_rollback_is_caught(operator, audit):
    grant_n(operator, 2)
    audit()
    state = json.loads(audit.state.read_text())
    state["size"] = 5
    audit.state.write_text(json.dumps(state))
    with pytest.raises(AuditFailure, match="rolled back"):
        audit()


def test_fork_is_caught(operator, audit):
    grant_n(operator, 2)
    audit()
    state = json.loads(audit.state.read_text())
    state["root"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
    audit.state.write_text(json.dumps(state))
    grant_n(operator, 1)
    with pytest.raises(AuditFailure, match="forked"):
        audit()


def test_tampered_entry_is_caught(operator, audit):
    grant_n(operator, 2)
    log = operator.runtime.log
    forged = log.entry(0).replace(b'"block":', b'"block":9')
    log.backend._writer.execute("UPDATE entries SET data=? WHERE idx=0", (forged,))
    with pytest.raises(AuditFailure, match="hash tile 0/0 does not match the entries"):
        audit()


def test_anchor_that_does_not_match_the_log_is_caught(operator, audit):
    grant_n(operator, 2)
    operator.runtime.registry.anchor(2, os.urandom(32), operator.account)
    with pytest.raises(AuditFailure, match="does not match the log's root"):
        audit()


def test_grant_missing_from_the_log_is_caught(operator, audit):
    reg = operator.runtime.registry
    receipt = reg.grant(signed_grant(reg)[0], operator.account)
    operator.runtime.log.append([], {CURSOR_KEY: str(receipt["blockNumber"])})  # skipped, not logged
    with pytest.raises(AuditFailure, match="missing from the log"):
        audit()


def test_log_entry_without_its_chain_event_is_caught(operator, audit):
    grant_n(operator, 1)
    real = events.decode(operator.runtime.log.entry(0))
    fake = {**real, "consent_id": "0x" + os.urandom(32).hex(), "tx": "0x" + os.urandom(32).hex()}
    operator.runtime.log.append([events.encode(fake)], publish=True)
    with pytest.raises(AuditFailure, match="no such chain event"):
        audit()


def test_checkpoint_signed_by_another_key_is_caught(operator, audit):
    grant_n(operator, 1)
    with pytest.raises(AuditFailure, match="checkpoint signature"):
        audit(vkey=Signer(operator.runtime.log.origin, b"\x05" * 32).verifier.vkey)


def test_entries_rewritten_with_their_tiles_are_caught_by_the_checkpoint(operator, audit):
    grant_n(operator, 2)
    log = operator.runtime.log
    forged = log.entry(0).replace(b'"block":', b'"block":9')
    from ledger.tlog import merkle
    from storage.log import node_key

    log.backend._writer.execute("UPDATE entries SET data=? WHERE idx=0", (forged,))
    log.backend._writer.execute("UPDATE nodes SET hash=? WHERE id=?", (merkle.leaf_hash(forged), node_key(0, 0)))
    with pytest.raises(AuditFailure, match="do not hash to the checkpoint root"):
        audit()


def _release_entry(consent_id: str, block: int) -> bytes:
    return events.encode({"type": events.DATA_READ, "service": "cv-builder", "area": "work", "decision": "released",
                          "consent_id": consent_id, "block": block, "time": "2026-01-01T00:00:00Z", "version": 1})


def test_a_release_after_revocation_is_caught(operator, audit):
    from .helpers import revoke_signature

    reg = operator.runtime.registry
    grant, _, _, account = signed_grant(reg)
    reg.grant(grant, operator.account)
    cid = "0x" + grant.consent_id.hex()
    before = reg.client.block_number()
    revoked = reg.revoke_by_sig(grant.consent_id, revoke_signature(reg, account, grant.consent_id), operator.account)
    operator.runtime.follower.sync()
    operator.runtime.log.append([_release_entry(cid, before)], publish=True)  # checked before the revocation: fine
    assert audit().size == 3
    operator.runtime.log.append([_release_entry(cid, revoked["blockNumber"])], publish=True)
    with pytest.raises(AuditFailure, match="after its revocation"):
        audit()


def test_a_release_after_expiry_is_caught(operator, audit, node):
    reg = operator.runtime.registry
    grant, *_ = signed_grant(reg, expires_in=60)
    reg.grant(grant, operator.account)
    node.increase_time(61)
    operator.runtime.follower.sync()
    operator.runtime.log.append([_release_entry("0x" + grant.consent_id.hex(), reg.client.block_number())], publish=True)
    with pytest.raises(AuditFailure, match="after it expired"):
        audit()


@pytest.mark.parametrize("node", ["embedded"], indirect=True)
def test_a_flipped_interior_node_is_refused_by_the_operator_and_its_start_check(operator):
    """Tiles carry every eighth level only, so no auditor sees a level-1 node: the operator
    proves each proof against its signed checkpoint before serving it, and checks every
    stored node at start."""
    import requests

    from storage.log import node_key

    from .helpers import mydata

    grant_n(operator, 4)
    url = f"{operator.url}/log/proof/inclusion?index=2&size=4"
    assert requests.get(url).status_code == 200
    assert "every stored hash matches" in mydata("operator", "check", "--data-dir", str(operator.config.data_dir)).stdout
    log = operator.runtime.log
    log.backend._writer.execute("UPDATE nodes SET hash=? WHERE id=?", (b"\x01" * 32, node_key(1, 0)))
    resp = requests.get(url)
    assert resp.status_code == 500 and resp.json()["type"].endswith("/log-corrupt")
    assert "proof" not in resp.json()
    consistency = requests.get(f"{operator.url}/log/proof/consistency?old=2&new=4")
    assert consistency.json()["type"].endswith("/log-corrupt")
    for args in (["operator", "check"], ["operator", "--chain", "http://127.0.0.1:9", "--port", "9"]):
        proc = mydata(*args, "--data-dir", str(operator.config.data_dir), check=False)
        assert proc.returncode == 1 and "level 1 index 0 does not match" in proc.stderr
        assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
