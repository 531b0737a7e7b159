"""C2SP signed-note, tlog-checkpoint and tlog-proof: byte-exact interop with public vectors."""

import base64

import pytest

from ledger.tlog import note
from ledger.tlog.checkpoint import Checkpoint, CheckpointError, open_checkpoint, sign_checkpoint
from ledger.tlog.tlog_proof import TlogProof, TlogProofError

# The vectors of Go's golang.org/x/mod/sumdb/note tests (also used by C2SP implementations).
VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
SIGNED = TEXT + "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"


def test_go_reference_note_verifies_and_our_signature_is_byte_identical():
    verifier = note.Verifier.from_vkey(VKEY)
    assert note.open_note(SIGNED, verifier) == TEXT
    signer = note.Signer.from_skey(SKEY)
    assert signer.verifier.vkey == VKEY
    assert note.sign(TEXT, signer) == SIGNED


@pytest.mark.parametrize("bad", [VKEY[:-1], VKEY.replace("c74f20a3", "c74f20a4"), "Peter Neumann+c74f20a3+" + VKEY.split("+", 2)[2], VKEY.replace("+ARpc", "+AhRpc")])
def test_mangled_verifier_keys_are_refused(bad):
    with pytest.raises(note.NoteError):
        note.Verifier.from_vkey(bad)


def test_any_changed_text_byte_or_signature_fails():
    verifier = note.Verifier.from_vkey(VKEY)
    with pytest.raises(note.NoteError):
        note.open_note(SIGNED.replace("cryptography", "cryptograph!"), verifier)
    sig = SIGNED.rsplit(" ", 1)[1].strip()
    raw = bytearray(base64.b64decode(sig))
    raw[10] ^= 1
    with pytest.raises(note.NoteError):
        note.open_note(SIGNED.replace(sig, base64.b64encode(bytes(raw)).decode()), verifier)


def test_note_signed_only_by_unknown_keys_is_rejected():
    other = note.Signer("other.example/log", b"\x01" * 32)
    with pytest.raises(note.NoteError, match="trusted"):
        note.open_note(note.sign(TEXT, other), note.Verifier.from_vkey(VKEY))


def test_spec_checkpoint_example_parses_and_round_trips():
    text = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    cp = Checkpoint.parse(text)
    assert (cp.origin, cp.size) == ("example.com/behind-the-sofa", 20852163)
    assert cp.text() == text


@pytest.mark.parametrize("bad", ["o\n012\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n", "o\n1\nAAAA\n", "o\n1\n", "o\n-1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"])
def test_malformed_checkpoints_are_refused(bad):
    with pytest.raises(CheckpointError):
        Checkpoint.parse(bad)


def test_checkpoint_for_another_origin_is_refused():
    signer = note.Signer("log.example/a", b"\x02" * 32)
    signed = sign_checkpoint(Checkpoint("log.example/a", 3, b"\x00" * 32), signer)
    assert open_checkpoint(signed, signer.verifier, "log.example/a").size == 3
    with pytest.raises(CheckpointError, match="expected"):
        open_checkpoint(signed, signer.verifier, "log.example/b")


def test_tlog_proof_round_trips_the_spec_layout():
    signer = note.Signer("example.com/fancylog", b"\x03" * 32)
    cp = sign_checkpoint(Checkpoint("example.com/fancylog", 109482, b"\x11" * 32), signer)
    proof = TlogProof(73894, [b"\x01" * 32, b"\x02" * 32], cp, extra=b"age-v1.2.1")
    text = proof.text()
    assert text.startswith("c2sp.org/tlog-proof@v1\nextra YWdlLXYxLjIuMQ==\nindex 73894\n")
    assert TlogProof.parse(text) == proof
    with pytest.raises(TlogProofError):
        TlogProof.parse(text.replace("index 73894", "index 073894"))


@pytest.mark.parametrize("text", ["no newline at the end", "a\x01control\n", "a\ttab\n", "carriage\r\n"])
def test_note_text_without_a_final_newline_or_with_control_characters_is_not_signed(text):
    with pytest.raises(note.NoteError):
        note.sign(text, note.Signer.from_skey(SKEY))
