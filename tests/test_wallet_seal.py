"""The recovery phrase is sealed at rest: a wallet opens only with its passphrase, a changed or
hostile seal is refused before any work, an old plain-text wallet is sealed on first open,
and the citizen app's door keeps one unlocked wallet per run."""

import json

import pytest

from ledger.keys import CitizenKeys
from ledger.passphrase_seal import MEMLIMIT, OPSLIMIT, SealError, WrongPassphrase, seal, unseal
from ledger.wallet import Wallet, WalletError
from web.wallet_door import WalletDoor

from .helpers import PASSPHRASE


def test_a_wallet_keeps_no_phrase_in_plain_text_and_opens_only_with_its_passphrase(tmp_path):
    created = Wallet.create(tmp_path / "w.json", PASSPHRASE)
    stored = json.loads((tmp_path / "w.json").read_text())
    assert created.phrase and created.phrase not in json.dumps(stored)
    assert stored["format"] == "mydata-wallet/2" and stored["phrase"]["kdf"] == "argon2id13"
    assert (stored["phrase"]["opslimit"], stored["phrase"]["memlimit"]) == (OPSLIMIT, MEMLIMIT)
    opened = Wallet.open(tmp_path / "w.json", PASSPHRASE)
    assert opened.phrase == created.phrase and opened.keys.citizen_id() == created.keys.citizen_id()
    with pytest.raises(WrongPassphrase, match="wrong passphrase"):
        Wallet.open(tmp_path / "w.json", PASSPHRASE + " ")


def test_a_restored_wallet_holds_the_phrase_it_was_given(tmp_path):
    phrase = CitizenKeys.new_phrase()
    assert Wallet.open(Wallet.create(tmp_path / "w.json", PASSPHRASE, phrase).path, PASSPHRASE).phrase == phrase


def test_a_short_passphrase_is_refused_and_nothing_is_written(tmp_path):
    with pytest.raises(SealError, match="at least 8 characters"):
        Wallet.create(tmp_path / "w.json", "1234567")
    assert not (tmp_path / "w.json").exists()
    assert unseal(seal(b"secret", "12345678"), "12345678") == b"secret"  # eight is enough


def _sealed():
    return seal(b"the phrase", PASSPHRASE)


LIMITS = "the seal asks for a key derivation cost outside libsodium's limits"


@pytest.mark.parametrize(("change", "error", "words"), [
    (lambda s: s.update(box=s["box"][:-2] + ("00" if s["box"][-2:] != "00" else "01")), WrongPassphrase, "wrong passphrase"),
    (lambda s: s.update(salt="00" * 16), WrongPassphrase, "wrong passphrase"),
    (lambda s: s.update(kdf="scrypt"), SealError, "unknown key derivation 'scrypt'"),
    (lambda s: s.update(memlimit=2**40), SealError, LIMITS),  # a terabyte: refused, not attempted
    (lambda s: s.update(opslimit=100), SealError, LIMITS),
    (lambda s: s.update(opslimit=5), SealError, LIMITS),
    (lambda s: s.update(opslimit=0), SealError, LIMITS),
    (lambda s: s.update(memlimit=8191), SealError, LIMITS),
    (lambda s: s.update(opslimit=2.0), SealError, LIMITS),
    (lambda s: s.update(memlimit=True), SealError, LIMITS),
    (lambda s: s.update(salt="00" * 15), SealError, "malformed seal (salt length)"),
    (lambda s: s.update(box="not hex"), SealError, "malformed seal (ValueError)"),
    (lambda s: s.pop("salt"), SealError, "malformed seal (KeyError)"),
])
def test_a_changed_or_hostile_seal_is_refused(change, error, words):
    sealed = _sealed()
    change(sealed)
    with pytest.raises(error) as raised:
        unseal(sealed, PASSPHRASE)
    assert str(raised.value) == words and type(raised.value) is error


@pytest.mark.parametrize(("opslimit", "memlimit"), [(1, 8192), (4, 8192)])  # libsodium's least and (for passes) most
def test_a_seal_at_the_edge_of_the_limits_opens_with_its_own_cost(opslimit, memlimit):
    import os

    import nacl.pwhash.argon2id as argon2id
    from nacl.secret import SecretBox

    salt = os.urandom(16)
    key = argon2id.kdf(32, PASSPHRASE.encode(), salt, opslimit=opslimit, memlimit=memlimit)
    sealed = {"kdf": "argon2id13", "opslimit": opslimit, "memlimit": memlimit, "salt": salt.hex(), "box": bytes(SecretBox(key).encrypt(b"edge")).hex()}
    assert unseal(sealed, PASSPHRASE) == b"edge"


def test_a_seal_that_is_not_an_object_is_refused():
    for sealed in (None, "abc", [1, 2]):
        with pytest.raises(SealError, match="malformed seal"):
            unseal(sealed, PASSPHRASE)


def test_a_plain_text_wallet_from_before_sealing_is_sealed_on_first_open(tmp_path):
    phrase = CitizenKeys.new_phrase()
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"phrase": phrase, "consents": {"0xab": {"record": {}, "salt": "00"}}}))
    opened = Wallet.open(path, PASSPHRASE)
    assert opened.phrase == phrase and phrase not in path.read_text()
    assert json.loads(path.read_text())["consents"] == {"0xab": {"record": {}, "salt": "00"}}  # nothing else lost
    with pytest.raises(WrongPassphrase):
        Wallet.open(path, "another passphrase")
    assert Wallet.open(path, PASSPHRASE).phrase == phrase


def test_a_reload_sees_new_consents_but_not_another_identity(tmp_path):
    path = tmp_path / "w.json"
    first = Wallet.create(path, PASSPHRASE)
    Wallet.open(path, PASSPHRASE).remember("0x" + "ab" * 32, {"r": 1}, b"\x01")
    assert "0x" + "ab" * 32 in first.reload().data["consents"]
    path.unlink()
    Wallet.create(path, PASSPHRASE)  # erased, then a new identity with the same passphrase
    with pytest.raises(WalletError, match="now holds another wallet"):
        first.reload()


def test_the_apps_door_unlocks_once_and_locks_again(tmp_path):
    path = tmp_path / "w.json"
    door = WalletDoor(path)
    assert door.current() is None and not door.exists()
    Wallet.create(path, PASSPHRASE)
    assert door.current() is None  # locked: nobody gave the passphrase
    with pytest.raises(WrongPassphrase):
        door.unlock("not the passphrase")
    assert door.current() is None
    unlocked = door.unlock(PASSPHRASE)
    assert door.current() is not None and door.current().phrase == unlocked.phrase
    door.lock()
    assert door.current() is None


def test_a_door_given_the_wrong_passphrase_stays_locked_and_a_new_identity_locks_it(tmp_path):
    path = tmp_path / "w.json"
    Wallet.create(path, PASSPHRASE)
    assert WalletDoor(path, "not the passphrase").current() is None
    door = WalletDoor(path, PASSPHRASE)
    assert door.current() is not None
    path.unlink()
    assert door.current() is None
    Wallet.create(path, "a different passphrase")
    assert door.current() is None  # the passphrase it was started with does not open this one
    assert door.unlock("a different passphrase").phrase
