"""The citizen's own check of their access history: an entry is `verified` only when the
checkpoint is signed by the log's key, equals the anchor the chain holds at the named
index, and the entry's proof leads to its root. Each way an operator could cut a corner
turns the badge from green."""

from __future__ import annotations

import base64
import copy
import os

import pytest

from ledger.history import verify_history
from ledger.registry import Registry
from ledger.tlog import note
from ledger.tlog.note import Signer

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


def _with(doc, change):
    d = copy.deepcopy(doc)
    change(d)
    return d


def test_a_checkpoint_not_matching_its_on_chain_anchor_verifies_nothing(history, world):
    doc, check = history
    world.consent([{"area": "skills", "access": "read"}])  # grows the log
    world.op.runtime.anchorer.anchor_now()  # anchor 2: another size and root
    other = _with(doc, lambda d: d["anchor"].update(index=d["anchor"]["index"] + 1))
    assert check(other)[:3] == ["failed"] * 3
    earlier = _with(doc, lambda d: d["anchor"].update(index=0))  # anchor 0 covers a smaller tree
    assert check(earlier)[:3] == ["failed"] * 3


def test_a_checkpoint_signed_by_another_key_verifies_nothing(history, world):
    doc, check = history
    forged_key = Signer(world.op.runtime.log.origin, os.urandom(32))
    body = doc["checkpoint"].split("\n\n")[0] + "\n"  # the body, re-signed by a key that is not the log's
    forged = _with(doc, lambda d: d.update(checkpoint=note.sign(body, forged_key)))
    assert check(forged)[:3] == ["failed"] * 3
    assert check(_with(doc, lambda d: d.update(checkpoint="not a note")))[:3] == ["failed"] * 3


def test_a_missing_or_altered_proof_inside_the_anchored_tree_fails(history):
    doc, check = history
    assert check(_with(doc, lambda d: d["entries"][1].update(proof=None)))[1] == "failed"
    flipped = _with(doc, lambda d: d["entries"][1]["proof"].__setitem__(0, base64.b64encode(b"\x01" * 32).decode()))
    assert check(flipped)[1] == "failed"
    moved = _with(doc, lambda d: d["entries"][1].update(index=d["entries"][2]["index"]))
    assert check(moved)[1] == "failed"
    edited = _with(doc, lambda d: d["entries"][2]["entry"].update(reason="expired"))
    assert check(edited)[2] == "failed"


def test_an_entry_beyond_the_anchored_size_is_pending_only_by_its_index(history):
    doc, check = history
    with_proof = _with(doc, lambda d: d["entries"][3].update(proof=d["entries"][0]["proof"]))
    assert check(with_proof)[3] == "failed"  # a proof for an entry the anchored tree cannot hold
