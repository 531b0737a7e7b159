"""Nothing is lost: the embedded chain after SIGKILL, the operator's log after a restart."""

import signal

from eth_account import Account

from devchain.nodes import DevNode
from ledger.chain import ChainClient
from ledger.contract import deploy
from ledger.registry import Registry

from .conftest import LiveOperator
from .helpers import signed_grant


def test_embedded_chain_keeps_every_block_consent_and_anchor_after_a_kill(tmp_path):
    node = DevNode("embedded", tmp_path / "chain", log_file=tmp_path / "chain.log").start()
    try:
        key = Account.create()
        client = ChainClient(node.url, key)
        client.fund_from_dev_account(key.address)
        dep, _ = deploy(client, tmp_path / "deployment.json", key.address)
        reg = Registry.of(client, dep)
        grant, *_ = signed_grant(reg)
        reg.grant(grant)
        reg.anchor(7, b"\x07" * 32)
        head = client.block_number()
        block_hash = client.w3.eth.get_block(head)["hash"]
        node.stop(signal.SIGKILL)  # no clean shutdown: only committed transactions count

        node.start()
        client = ChainClient(node.url, key)
        assert client.block_number() == head and client.w3.eth.get_block(head)["hash"] == block_hash
        reg = Registry.of(client, dep)
        assert reg.is_active(grant.consent_id)
        assert [(a.size, a.root) for a in reg.anchors()] == [(7, b"\x07" * 32)]
        _, fresh = deploy(client, tmp_path / "deployment.json", key.address)
        assert fresh is False  # the deployment file still names a live contract
        reg.grant(signed_grant(reg)[0])  # and the chain keeps going
        assert client.block_number() == head + 1
    finally:
        node.stop()


def test_operator_restart_keeps_log_checkpoints_and_anchors(node, tmp_path):
    first = LiveOperator(node, tmp_path / "op")
    reg = first.runtime.registry
    reg.grant(signed_grant(reg)[0], first.account)
    first.runtime.follower.sync()
    anchor = first.runtime.anchorer.anchor_now()
    size, root, checkpoint = first.runtime.log.head, first.runtime.log.root(), first.runtime.log.latest_checkpoint()
    first.close()

    reg.grant(signed_grant(reg)[0], first.account)  # happens while the operator is down
    second = LiveOperator(node, tmp_path / "op")
    try:
        log = second.runtime.log
        assert log.head == size + 1  # caught up from its cursor, nothing lost or doubled
        assert log.root(size) == root and log.checkpoint_at(size) == checkpoint
        assert second.runtime.anchorer.latest() == anchor
        assert second.runtime.signer.verifier == first.runtime.signer.verifier
    finally:
        second.close()
