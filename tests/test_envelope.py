"""Encrypted area documents: sealing, writer signatures, key wrapping and changing the locks."""

import copy
import os

import pytest
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from ledger.keys import CitizenKeys
from pds.envelope import EnvelopeError, new_data_key, open_envelope, seal, unwrap_key, wrap_key, writer_of

WORK = [{"name": "Arbetsförmedlingen", "position": "Developer", "startDate": "2020-01-01"}]


@pytest.fixture
def citizen():
    return CitizenKeys(os.urandom(32))


def test_a_sealed_area_opens_for_key_holders_and_names_its_writer(citizen):
    writer = SigningKey(citizen.request_seed())
    key = new_data_key()
    env = seal("work", 1, WORK, key, writer)
    assert "Developer" not in str(env)
    assert writer_of(env) == bytes(writer.verify_key)
    assert open_envelope(env, key, {bytes(writer.verify_key)}) == WORK


def test_keys_are_derived_deterministically_and_differ_by_purpose(citizen):
    again = CitizenKeys(citizen.seed)
    assert bytes(again.encryption_key()) == bytes(citizen.encryption_key())
    assert citizen.request_seed() == again.request_seed() != bytes(citizen.encryption_key())


@pytest.mark.parametrize(
    "tamper",
    [
        lambda e: e.update(area="skills"),
        lambda e: e.update(version=2),
        lambda e: e.update(ciphertext=e["ciphertext"][:-8] + "AAAAAAA="),
        lambda e: e.update(writer=seal("x", 1, {}, new_data_key(), SigningKey.generate())["writer"]),
        lambda e: e.pop("signature"),
    ],
)
def test_any_tampering_is_refused(citizen, tamper):
    writer = SigningKey(citizen.request_seed())
    key = new_data_key()
    env = seal("work", 1, WORK, key, writer)
    bad = copy.deepcopy(env)
    tamper(bad)
    with pytest.raises(EnvelopeError):
        open_envelope(bad, key, {bytes(writer.verify_key)})


def test_untrusted_writer_and_wrong_key_are_refused(citizen):
    key = new_data_key()
    stranger = SigningKey.generate()
    env = seal("work", 1, WORK, key, stranger)
    with pytest.raises(EnvelopeError, match="does not trust"):
        open_envelope(env, key, {bytes(SigningKey(citizen.request_seed()).verify_key)})
    with pytest.raises(EnvelopeError, match="does not open"):
        open_envelope(env, new_data_key(), {bytes(stranger.verify_key)})


def test_wrapped_keys_open_only_for_their_recipient_and_changing_the_locks_shuts_out_old_holders(citizen):
    service, revoked = PrivateKey.generate(), PrivateKey.generate()
    writer = SigningKey(citizen.request_seed())
    old_key = new_data_key()
    wrapped = {name: wrap_key(old_key, bytes(k.public_key)) for name, k in [("service", service), ("revoked", revoked)]}
    assert unwrap_key(wrapped["service"], service) == old_key
    with pytest.raises(EnvelopeError):
        unwrap_key(wrapped["service"], revoked)

    new_key = new_data_key()  # change the locks: re-encrypt, re-wrap for remaining holders only
    v2 = seal("work", 2, WORK + [{"name": "New job"}], new_key, writer)
    kept = wrap_key(new_key, bytes(service.public_key))
    trusted = {bytes(writer.verify_key)}
    assert open_envelope(v2, unwrap_key(kept, service), trusted)[-1] == {"name": "New job"}
    with pytest.raises(EnvelopeError):
        open_envelope(v2, unwrap_key(wrapped["revoked"], revoked), trusted)
