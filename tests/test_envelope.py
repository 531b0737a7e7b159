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


def test_the_writer_signs_exactly_the_documented_statement():
    """Format vector: Ed25519 over JCS {area, ciphertext_sha256, version, writer} (pds/envelope.py)."""
    import base64
    import hashlib

    from nacl.signing import VerifyKey

    writer = SigningKey(b"\x05" * 32)
    env = seal("work", 7, WORK, b"\x06" * 32, writer)
    ciphertext = base64.b64decode(env["ciphertext"])
    digest, key = hashlib.sha256(ciphertext).hexdigest(), base64.b64encode(bytes(writer.verify_key)).decode()
    statement = f'{{"area":"work","ciphertext_sha256":"{digest}","version":7,"writer":"{key}"}}'.encode()
    VerifyKey(bytes(writer.verify_key)).verify(statement, base64.b64decode(env["signature"]))


@pytest.mark.parametrize("field", ["ciphertext", "writer", "signature"])
def test_base64_with_stray_characters_is_refused_not_cleaned(citizen, field):
    env = seal("work", 1, WORK, new_data_key(), SigningKey(citizen.request_seed()))
    env[field] = env[field][:4] + "!" + env[field][4:]  # a lenient decoder would skip the "!"
    with pytest.raises(EnvelopeError, match=r"^the envelope's writer signature does not verify \((ValueError|Error)\)$"):
        writer_of(env)


def test_each_refusal_names_its_reason(citizen):
    key, stranger = new_data_key(), SigningKey.generate()
    env = seal("work", 1, WORK, key, stranger)
    with pytest.raises(EnvelopeError, match="^the envelope was written by a key the reader does not trust$"):
        open_envelope(env, key, set())
    with pytest.raises(EnvelopeError, match="^the data key does not open this envelope$"):
        open_envelope(env, new_data_key(), {bytes(stranger.verify_key)})
    with pytest.raises(EnvelopeError, match="^the wrapped key is not for this recipient$"):
        unwrap_key(wrap_key(key, bytes(PrivateKey.generate().public_key)), PrivateKey.generate())
    with pytest.raises(EnvelopeError, match=r"^the envelope's writer signature does not verify \(KeyError\)$"):
        writer_of({k: v for k, v in env.items() if k != "signature"})


def test_an_envelope_is_current_only_for_its_area_its_version_and_no_older_than_seen(citizen):
    from pds.envelope import StaleEnvelope, check_current

    env = seal("work", 3, WORK, new_data_key(), SigningKey(citizen.request_seed()))
    check_current(env, "work", 3, 3)
    check_current(env, "work", 3, 0)
    with pytest.raises(StaleEnvelope, match="^the store answered for skills with an envelope sealed for 'work'$"):
        check_current(env, "skills", 3, 0)
    with pytest.raises(StaleEnvelope, match="^the store names version 4 of work, but the envelope is sealed as version 3$"):
        check_current(env, "work", 4, 0)
    with pytest.raises(StaleEnvelope, match=r"^the store answered version 3 of work, but version 4 was seen before \(rolled back\)$"):
        check_current(env, "work", 3, 4)
