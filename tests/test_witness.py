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
from ledger.tlog.witness_protocol import AddCheckpoint, InconsistentTree, SizeMismatch, WitnessRequestError, check_extension
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


# ---- the add-checkpoint body and the witness's check, piece by piece ----------------------

@pytest.mark.parametrize(("body", "message"), [
    (b"\xff", "the body is not UTF-8"),
    (b"old 1\n", "the body must start with an `old <size>` line and hold an empty line before the checkpoint"),
    (b"new 1\n\nx\n", "the body must start with an `old <size>` line and hold an empty line before the checkpoint"),
    (b"old 01\n\nx\n", "invalid old size '01'"),
    (b"old -1\n\nx\n", "invalid old size '-1'"),
    ("old \u0663\n\nx\n".encode(), "invalid old size '\u0663'"),  # an Arabic-Indic three: a digit, not ASCII
    (b"old 1\n" + b"AAAA\n" * 64 + b"\nx\n", "more than 63 consistency proof lines"),
    (b"old 1\nAA AA\n\nx\n", "a consistency proof line is not base64"),
    (b"old 1\nAAAA\n\nx\n", "a consistency proof hash is not 32 bytes"),
])
def test_a_malformed_body_is_named(body, message):
    with pytest.raises(WitnessRequestError) as err:
        AddCheckpoint.parse(body)
    assert str(err.value) == message


def test_a_body_round_trips_with_63_proof_lines_and_with_none():
    proof = [bytes([i]) * 32 for i in range(63)]
    parsed = AddCheckpoint.parse(AddCheckpoint(7, proof, "cp\n").encode())
    assert (parsed.old_size, parsed.proof, parsed.checkpoint) == (7, proof, "cp\n")
    assert AddCheckpoint.parse(b"old 0\n\ncp\n") == AddCheckpoint(0, [], "cp\n")


def _cp(tree: Tree, size: int) -> Checkpoint:
    return Checkpoint.parse(tree.checkpoint(size).split("\n\n")[0] + "\n")


def _req(tree: Tree, old: int, size: int) -> AddCheckpoint:
    return AddCheckpoint.parse(tree.request(old, size))


def test_the_witness_check_names_each_refusal_with_its_status():
    tree, fork = Tree(8), Tree(8, "b")
    with pytest.raises(WitnessRequestError, match=r"^old size 8 is beyond the checkpoint's size 5$"):
        check_extension(8, _cp(tree, 8).root, AddCheckpoint(8, [], ""), _cp(tree, 5))
    with pytest.raises(SizeMismatch) as mismatch:
        check_extension(5, _cp(tree, 5).root, _req(tree, 3, 8), _cp(tree, 8))
    assert mismatch.value.stored_size == 5 and str(mismatch.value) == "the witness last cosigned size 5"
    with pytest.raises(InconsistentTree) as forked:
        check_extension(5, _cp(tree, 5).root, AddCheckpoint(5, [], ""), _cp(fork, 5))
    assert (forked.value.status, str(forked.value)) == (409, "another root for size 5: the log forked")
    with pytest.raises(InconsistentTree) as bad_proof:
        check_extension(5, _cp(tree, 5).root, _req(fork, 5, 8), _cp(fork, 8))
    assert bad_proof.value.status == 422 and str(bad_proof.value).startswith("the consistency proof from size 5 does not verify: ")
    for stored_size, stored_root in ((0, None), (0, merkle.EMPTY_ROOT)):  # never cosigned, or cosigned the empty tree
        with pytest.raises(InconsistentTree) as not_empty:
            check_extension(stored_size, stored_root, AddCheckpoint(0, [b"\x00" * 32], ""), _cp(tree, 8))
        assert (not_empty.value.status, str(not_empty.value)) == (422, "a consistency proof from size 0 must be empty")
        check_extension(stored_size, stored_root, AddCheckpoint(0, [], ""), _cp(tree, 8))  # accepted


def test_a_first_checkpoint_of_size_one_needs_no_proof_and_the_next_one_does():
    tree = Tree(4)
    check_extension(0, None, _req(tree, 0, 1), _cp(tree, 1))
    check_extension(1, _cp(tree, 1).root, _req(tree, 1, 4), _cp(tree, 4))
    with pytest.raises(InconsistentTree):
        check_extension(1, _cp(tree, 1).root, AddCheckpoint(1, [], ""), _cp(tree, 4))


def test_a_cosignature_counts_only_under_its_own_name_key_id_and_a_timestamp_below_2_to_the_63():
    w1 = Cosigner("witness.example/w1", os.urandom(32))
    checkpoint = Tree(5).checkpoint()
    body = checkpoint.split("\n\n")[0] + "\n"
    line = w1.cosign(body, 100)
    blob = base64.b64decode(line.split(" ")[2].strip())
    renamed = f"\u2014 witness.example/w2 {base64.b64encode(blob).decode()}\n"  # w1's signature, said to be w2's
    other_kid = f"\u2014 witness.example/w1 {base64.b64encode(bytes([blob[0] ^ 1]) + blob[1:]).decode()}\n"
    short = f"\u2014 witness.example/w1 {base64.b64encode(blob[:-1]).decode()}\n"
    policy = _policy(1, w1)
    for bad in (renamed, other_kid, short):
        assert policy.cosigners(checkpoint + bad) == {}
    assert policy.cosigners(checkpoint + w1.cosign(body, 2**63 - 1)) == {"witness.example/w1": 2**63 - 1}
    for too_late in (2**63, 2**64 - 1):
        assert policy.cosigners(checkpoint + w1.cosign(body, too_late)) == {}


def test_the_policys_refusals_say_what_is_missing():
    w1, w2 = (Cosigner(f"witness.example/w{i}", os.urandom(32)) for i in (1, 2))
    with pytest.raises(CosignatureError) as none:
        _policy(1, w1, w2).check(Tree(2).checkpoint())
    assert str(none.value) == "checkpoint cosigned by 0 of the trusted witnesses (none), 1 required"
    w3 = Cosigner("witness.example/w3", os.urandom(32))
    checkpoint = Tree(2).checkpoint()
    body = checkpoint.split("\n\n")[0] + "\n"
    with pytest.raises(CosignatureError) as two:
        _policy(3, w1, w2, w3).check(checkpoint + w1.cosign(body, 1) + w2.cosign(body, 1))
    assert str(two.value) == "checkpoint cosigned by 2 of the trusted witnesses (witness.example/w1, witness.example/w2), 3 required"
    with pytest.raises(CosignatureError) as twice:
        WitnessPolicy(1, (w1.key, w1.key))
    assert str(twice.value) == "a witness is named twice in the policy"
    with pytest.raises(CosignatureError) as unmet:
        _policy(3, w1, w2)
    assert str(unmet.value) == "a quorum of 3 cannot be met by 2 witnesses"
