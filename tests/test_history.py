"""A citizen's access history from a live operator verifies against a live node (each way an
operator could cut a corner is in test_history_checks.py, against a recorded chain)."""

from __future__ import annotations

import pytest

from ledger.history import verify_history
from ledger.registry import Registry

pytestmark = pytest.mark.parametrize("node", ["embedded"], indirect=True)


@pytest.fixture
def history(world):
    """A history of 3 anchored entries (grant, read, denial) plus one logged after the anchor."""
    world.consent([{"area": "work", "access": "read"}])
    assert world.read().status_code == 200
    assert world.read("education").status_code == 403
    world.op.runtime.anchorer.anchor_now()
    world.op.runtime.anchorer.anchor_now()  # a second anchor: index 1 is the one named
    assert world.read().status_code == 200  # after the anchor: pending
    doc = world.citizen_op.get(f"/v1/citizens/{world.cid}/history").json()
    registry = Registry(world.op.runtime.client, world.op.runtime.deployment.address)
    return doc, lambda d: [e["status"] for e in verify_history(d, registry, world.op.runtime.signer.verifier.vkey)]


def test_an_honest_history_is_verified_and_the_newest_entry_pending(history):
    doc, check = history
    assert check(doc) == ["verified", "verified", "verified", "pending"]
