"""The citizen's own check of their access history: an entry is `verified` only when the
checkpoint is signed by the log's key, equals the anchor the chain holds at the named
index, and the entry's proof leads to its root. Each way an operator could cut a corner
turns the badge from green. Checked against a recorded chain (tests/recorded_chain.py)."""

from __future__ import annotations

import base64
import copy
import os

import pytest

from ledger.history import verify_history
from ledger.tlog import note
from ledger.tlog.note import Signer


@pytest.fixture
def history(recorded_chain):
    """Three anchored entries (grant, read, denial) and one logged after the anchor; the
    registry holds anchors before and after the one the history names."""
    def check(doc):
        return [e["status"] for e in verify_history(doc, recorded_chain.registry, recorded_chain.vkey)]

    return copy.deepcopy(recorded_chain.history), check


def _with(doc, change):
    d = copy.deepcopy(doc)
    change(d)
    return d


def test_an_honest_history_is_verified_and_the_newest_entry_pending(history):
    doc, check = history
    assert check(doc) == ["verified", "verified", "verified", "pending"]


def test_each_entry_comes_back_as_it_was_with_its_status(recorded_chain):
    doc = recorded_chain.history
    checked = verify_history(copy.deepcopy(doc), recorded_chain.registry, recorded_chain.vkey)
    assert [{k: v for k, v in e.items() if k != "status"} for e in checked] == doc["entries"]


def test_a_checkpoint_not_matching_its_on_chain_anchor_verifies_nothing(history):
    doc, check = history
    later = _with(doc, lambda d: d["anchor"].update(index=d["anchor"]["index"] + 1))  # another size and root
    assert check(later)[:3] == ["failed"] * 3
    earlier = _with(doc, lambda d: d["anchor"].update(index=0))  # anchor 0 covers a smaller tree
    assert check(earlier)[:3] == ["failed"] * 3
    beyond = _with(doc, lambda d: d["anchor"].update(index=10**6))  # the registry holds no such anchor
    assert check(beyond)[:3] == ["failed"] * 3


def test_a_checkpoint_signed_by_another_key_verifies_nothing(history):
    doc, check = history
    forged_key = Signer(doc["log"]["origin"], os.urandom(32))
    body = doc["checkpoint"].split("\n\n")[0] + "\n"  # the body, re-signed by a key that is not the log's
    forged = _with(doc, lambda d: d.update(checkpoint=note.sign(body, forged_key)))
    assert check(forged)[:3] == ["failed"] * 3
    assert check(_with(doc, lambda d: d.update(checkpoint="not a note")))[:3] == ["failed"] * 3
    assert check(_with(doc, lambda d: d["log"].update(origin="another.example/log")))[:3] == ["failed"] * 3


def test_without_a_checkpoint_every_entry_is_pending_until_a_proof_claims_otherwise(history):
    doc, check = history
    assert check(_with(doc, lambda d: d.update(checkpoint=None))) == ["failed", "failed", "failed", "pending"]


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
