"""The witness (C2SP tlog-witness) and its cosignatures (C2SP tlog-cosignature): checked
byte for byte against the specs' text, and a witness that refuses every fork and rollback."""

from __future__ import annotations

import base64
import hashlib
import os
import struct

import pytest
from nacl.signing import VerifyKey

from ledger.tlog import merkle, note
from ledger.tlog.checkpoint import Checkpoint, sign_checkpoint
from ledger.tlog.cosignature import CosignatureError, Cosigner, WitnessKey, WitnessPolicy
from ledger.tlog.witness_protocol import AddCheckpoint
from witness.app import create_app
from witness.keys import cosigner as witness_cosigner

from .helpers import mydata

ORIGIN = "example.com/consent-log"


class Tree:
    """An in-memory log of `n` leaves whose contents depend on `fork` (another fork, another tree)."""

    def __init__(self, n: int, fork: str = "a", signer: note.Signer | None = None):
        self.leaves = [f"{fork}{i}".encode() for i in range(n)]
        self.signer = signer or LOG

    def subtree(self, start: int, end: int) -> bytes:
        return merkle.root_of(self.leaves[start:end])

    def checkpoint(self, size: int | None = None) -> str:
        size = len(self.leaves) if size is None else size
        return sign_checkpoint(Checkpoint(self.signer.name, size, merkle.root_of(self.leaves[:size])), self.signer)

    def request(self, old: int, size: int | None = None) -> bytes:
        size = len(self.leaves) if size is None else size
        proof = merkle.consistency_path(old, size, self.subtree) if 0 < old < size else []
        return AddCheckpoint(old, proof, self.checkpoint(size)).encode()


LOG = note.Signer(ORIGIN, b"\x01" * 32)


# ---- tlog-cosignature, byte for byte ----------------------------------------------------


def test_a_cosignature_line_is_key_id_timestamp_and_signature_over_the_specified_message():
    seed = os.urandom(32)
    cosigner = Cosigner("witness.example/w1", seed)
    text = f"{ORIGIN}\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    line = cosigner.cosign(text, 1679315147)

    assert line.startswith("\u2014 witness.example/w1 ") and line.endswith("\n")
    blob = base64.b64decode(line.split(" ")[2].strip(), validate=True)
    public_key = bytes(VerifyKey(cosigner.key.public_key))
    assert blob[:4] == hashlib.sha256(b"witness.example/w1\n\x04" + public_key).digest()[:4]
    assert blob[4:12] == struct.pack(">Q", 1679315147) and len(blob) == 4 + 8 + 64
    message = b"cosignature/v1\ntime 1679315147\n" + text.encode()
    VerifyKey(public_key).verify(message, blob[12:])  # raises if the message is not the spec's
    assert cosigner.key.vkey == f"witness.example/w1+{blob[:4].hex()}+" + base64.b64encode(b"\x04" + public_key).decode()


def test_witness_keys_round_trip_and_a_log_key_is_no_witness_key():
    cosigner = Cosigner("witness.example/w1", os.urandom(32))
    assert WitnessKey.from_vkey(cosigner.key.vkey) == cosigner.key
    with pytest.raises(note.NoteError):
        WitnessKey.from_vkey(LOG.verifier.vkey)  # type 0x01, a log's signing key
    with pytest.raises(note.NoteError):
        note.Verifier.from_vkey(cosigner.key.vkey)  # and a witness key signs no checkpoint


def test_a_cosignature_never_passes_for_the_logs_own_signature():
    seed = os.urandom(32)
    as_witness, as_log = Cosigner(ORIGIN, seed), note.Signer(ORIGIN, seed)  # one key, both roles
    body = Tree(3).checkpoint().split("\n\n")[0] + "\n"
    cosigned_only = body + "\n" + as_witness.cosign(body, 1)
    with pytest.raises(note.NoteError, match="no signature by a trusted key"):
        note.open_note(cosigned_only, as_log.verifier)


def _policy(quorum, *cosigners):
    return WitnessPolicy(quorum, tuple(c.key for c in cosigners))


def test_a_policy_counts_only_named_witnesses_whose_cosignature_verifies():
    w1, w2, stranger = (Cosigner(f"witness.example/w{i}", os.urandom(32)) for i in (1, 2, 3))
    checkpoint = Tree(5).checkpoint()
    body = checkpoint.split("\n\n")[0] + "\n"
    one = checkpoint + w1.cosign(body, 100) + stranger.cosign(body, 100)
    assert _policy(1, w1, w2).check(one) == ["witness.example/w1"]
    with pytest.raises(CosignatureError, match="cosigned by 1 of the trusted witnesses"):
        _policy(2, w1, w2).check(one)
    both = one + w2.cosign(body, 101)
    assert _policy(2, w1, w2).cosigners(both) == {"witness.example/w1": 100, "witness.example/w2": 101}
    assert _policy(0, w1, w2).check(checkpoint) == []


def test_a_cosignature_with_another_timestamp_or_on_another_checkpoint_does_not_count():
    w1 = Cosigner("witness.example/w1", os.urandom(32))
    checkpoint = Tree(5).checkpoint()
    body = checkpoint.split("\n\n")[0] + "\n"
    line = w1.cosign(body, 100)
    blob = bytearray(base64.b64decode(line.split(" ")[2].strip()))
    blob[4:12] = struct.pack(">Q", 101)
    moved = f"\u2014 witness.example/w1 {base64.b64encode(bytes(blob)).decode()}\n"
    assert _policy(1, w1).cosigners(checkpoint + moved) == {}
    other = Tree(6).checkpoint()
    assert _policy(1, w1).cosigners(other + line) == {}


def test_a_policy_that_cannot_be_met_is_refused():
    w1 = Cosigner("witness.example/w1", os.urandom(32))
    with pytest.raises(CosignatureError, match="quorum of 2"):
        _policy(2, w1)
    with pytest.raises(CosignatureError, match="twice"):
        WitnessPolicy(1, (w1.key, w1.key))


# ---- the witness service ----------------------------------------------------------------


@pytest.fixture
def witness(tmp_path):
    cosigner = witness_cosigner(tmp_path / "witness", "witness.example/w1")
    app = create_app(tmp_path / "witness", cosigner, [LOG.verifier.vkey])
    return app.test_client(), cosigner


def _add(client, body: bytes):
    return client.post("/add-checkpoint", data=body)


def test_the_witness_cosigns_a_first_checkpoint_then_each_consistent_extension(witness):
    client, cosigner = witness
    tree = Tree(9)
    first = _add(client, tree.request(0, 4))
    assert first.status_code == 200 and first.content_type.startswith("text/plain")
    assert _policy(1, cosigner).check(tree.checkpoint(4) + first.get_data(as_text=True)) == ["witness.example/w1"]
    assert _add(client, tree.request(4, 9)).status_code == 200
    again = _add(client, tree.request(9, 9))  # the same tree once more: cosigned again
    assert again.status_code == 200
    assert _policy(1, cosigner).check(tree.checkpoint(9) + again.get_data(as_text=True))


def test_a_forked_log_is_refused(witness):
    client, _ = witness
    assert _add(client, Tree(5, "a").request(0)).status_code == 200
    same_size = _add(client, Tree(5, "b").request(5))
    assert same_size.status_code == 409 and same_size.json["type"].endswith("witness-inconsistent-tree")
    forked_growth = Tree(7, "b").request(5)  # a consistency proof from the other tree's size 5
    answer = _add(client, forked_growth)
    assert answer.status_code == 422 and "does not verify" in answer.json["detail"]
    assert _add(client, Tree(7, "a").request(5)).status_code == 200  # the witnessed tree goes on


def test_a_rollback_is_refused_and_the_witness_names_its_size(witness):
    client, _ = witness
    tree = Tree(8)
    assert _add(client, tree.request(0, 8)).status_code == 200
    stale = _add(client, tree.request(0, 5))
    assert stale.status_code == 409 and stale.content_type == "text/x.tlog.size" and stale.get_data() == b"8\n"
    behind = _add(client, AddCheckpoint(8, [], tree.checkpoint(5)).encode())
    assert behind.status_code == 400  # old beyond the checkpoint's size


def test_the_witness_refuses_unknown_logs_foreign_keys_and_malformed_bodies(witness, tmp_path):
    client, _ = witness
    stranger = Tree(3, signer=note.Signer("other.example/log", b"\x02" * 32))
    assert _add(client, stranger.request(0)).status_code == 404
    impostor = Tree(3, signer=note.Signer(ORIGIN, b"\x03" * 32))
    assert _add(client, impostor.request(0)).status_code == 403
    for body in (b"", b"old 01\n\n" + Tree(3).checkpoint().encode(), b"old 0\nnot base64!\n\n" + Tree(3).checkpoint().encode(),
                 b"old 0\n" + Tree(3).checkpoint().encode(), b"\xff\xfe", b"old 0\n" + b"AAAA\n" * 64 + b"\n" + Tree(3).checkpoint().encode()):
        answer = _add(client, body)
        assert answer.status_code == 400 and answer.content_type == "application/problem+json", body
    assert _add(client, b"old 0\n\n" + b"x" * 20_000).status_code == 413
    assert _add(client, Tree(3).request(0)).status_code == 200  # none of it changed the witness


def test_what_the_witness_cosigned_survives_a_restart(witness, tmp_path):
    client, _ = witness
    assert _add(client, Tree(6).request(0)).status_code == 200
    restarted = create_app(tmp_path / "witness", witness_cosigner(tmp_path / "witness", "witness.example/w1"), [LOG.verifier.vkey]).test_client()
    assert _add(restarted, Tree(4).request(0)).get_data() == b"6\n"
    assert restarted.get("/").json["vkey"] == witness[1].key.vkey


def test_mydata_witness_prints_its_key_and_refuses_to_serve_no_log(tmp_path):
    printed = mydata("witness", "--name", "witness.example/w9", "--data-dir", str(tmp_path / "w"), "--print-vkey").stdout.strip()
    assert printed.startswith("witness.example/w9+") and printed == witness_cosigner(tmp_path / "w", "witness.example/w9").key.vkey
    refused = mydata("witness", "--name", "witness.example/w9", "--data-dir", str(tmp_path / "w"), check=False)
    assert refused.returncode != 0 and "--log" in refused.stderr and "Traceback" not in refused.stderr
    bad_key = mydata("witness", "--name", "witness.example/w9", "--data-dir", str(tmp_path / "w"), "--log", "nonsense", check=False)
    assert bad_key.returncode == 1 and "malformed verifier key" in bad_key.stderr and "Traceback" not in bad_key.stderr
