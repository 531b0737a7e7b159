"""The PDS over HTTP: append-only encrypted versions, wrapped keys, erasure, and every refusal."""

import os
import threading

import pytest
import requests
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from httpkit.serving import loopback_server
from ledger.keys import CitizenKeys
from ledger.request_auth import RequestSigner
from pds.app import create_app
from pds.envelope import new_data_key, open_envelope, seal, unwrap_key, wrap_key

WORK = [{"name": "Arbetsförmedlingen", "position": "Utvecklare-hemlig", "startDate": "2020-01-01"}]


class Citizen:
    def __init__(self):
        self.keys = CitizenKeys(os.urandom(32))
        self.signing = SigningKey(self.keys.request_seed())
        self.id = self.keys.citizen_id()
        self.auth = RequestSigner(self.id, self.keys.request_seed())


@pytest.fixture
def pds(tmp_path):
    operator_seed = os.urandom(32)
    operator = RequestSigner("operator", operator_seed)
    app = create_app(tmp_path / "pds", operator.public_key())
    server = loopback_server(app)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", operator, tmp_path / "pds"
    server.shutdown()


def write(url, who, citizen, version, key, area="work", doc=WORK, key_version=1):
    env = seal(area, version, doc, key, citizen.signing)
    return requests.post(
        f"{url}/pds/v1/citizens/{citizen.id}/areas/{area}/versions",
        json={"version": version, "key_version": key_version, "envelope": env}, auth=who,
    )


def test_versions_are_appended_never_overwritten(pds):
    url, _, _ = pds
    anna, key = Citizen(), new_data_key()
    assert write(url, anna.auth, anna, 1, key).status_code == 201
    again = write(url, anna.auth, anna, 1, key)
    assert again.status_code == 409 and again.json()["type"].endswith("/version-conflict")
    assert write(url, anna.auth, anna, 3, key).status_code == 409
    assert write(url, anna.auth, anna, 2, key, doc=WORK + [{"name": "Ny"}]).status_code == 201
    base = f"{url}/pds/v1/citizens/{anna.id}/areas"
    assert [v["version"] for v in requests.get(f"{base}/work/versions", auth=anna.auth).json()] == [1, 2]
    latest = requests.get(f"{base}/work/versions/latest", auth=anna.auth).json()
    assert open_envelope(latest["envelope"], key, {bytes(anna.signing.verify_key)})[-1] == {"name": "Ny"}
    first = requests.get(f"{base}/work/versions/1", auth=anna.auth).json()
    assert open_envelope(first["envelope"], key, {bytes(anna.signing.verify_key)}) == WORK
    assert requests.get(base, auth=anna.auth).json() == ["work"]


def test_only_the_citizen_and_the_operator_reach_a_space(pds):
    url, operator, _ = pds
    anna, bertil = Citizen(), Citizen()
    write(url, anna.auth, anna, 1, new_data_key())
    path = f"{url}/pds/v1/citizens/{anna.id}/areas/work/versions/latest"
    other = requests.get(path, auth=bertil.auth)
    assert other.status_code == 403 and other.json()["type"].endswith("/forbidden")
    assert requests.get(path, auth=operator).status_code == 200
    stranger = RequestSigner("service:cv", os.urandom(32))
    assert requests.get(path, auth=stranger).json()["type"].endswith("/unknown-key")
    impostor = RequestSigner(anna.id, os.urandom(32))
    assert requests.get(path, auth=impostor).json()["type"].endswith("/bad-signature")
    assert requests.get(path).json()["type"].endswith("/unsigned-request")
    ok = requests.get(path, auth=anna.auth)
    replay = requests.Session().send(ok.request)
    assert replay.status_code == 401 and replay.json()["type"].endswith("/replayed-request")
    assert requests.delete(f"{url}/pds/v1/citizens/{anna.id}", auth=operator).status_code == 403


def test_bad_envelopes_are_refused_and_nothing_is_stored(pds):
    url, _, _ = pds
    anna, key = Citizen(), new_data_key()
    env = seal("skills", 1, ["python"], key, anna.signing)
    wrong_area = requests.post(f"{url}/pds/v1/citizens/{anna.id}/areas/work/versions", json={"version": 1, "key_version": 1, "envelope": env}, auth=anna.auth)
    assert wrong_area.status_code == 400 and wrong_area.json()["field"] == "envelope"
    env["signature"] = seal("skills", 1, ["rust"], key, anna.signing)["signature"]
    forged = requests.post(f"{url}/pds/v1/citizens/{anna.id}/areas/skills/versions", json={"version": 1, "key_version": 1, "envelope": env}, auth=anna.auth)
    assert forged.status_code == 400 and forged.json()["field"] == "envelope.signature"
    bad_version = requests.post(f"{url}/pds/v1/citizens/{anna.id}/areas/skills/versions", json={"version": "1", "key_version": 1, "envelope": env}, auth=anna.auth)
    assert bad_version.json()["field"] == "version"
    assert requests.get(f"{url}/pds/v1/citizens/{anna.id}/areas", auth=anna.auth).json() == []


def test_wrapped_keys_are_served_to_the_operator_for_their_recipient(pds):
    url, operator, _ = pds
    anna, service = Citizen(), PrivateKey.generate()
    key = new_data_key()
    base = f"{url}/pds/v1/citizens/{anna.id}/areas/work/keys/1"
    put = requests.put(base, json={"wrapped": {"service:cv": wrap_key(key, bytes(service.public_key))}}, auth=anna.auth)
    assert put.status_code == 201
    got = requests.get(f"{base}/service:cv", auth=operator).json()["wrapped"]
    assert unwrap_key(got, service) == key
    missing = requests.get(f"{base}/service:other", auth=operator)
    assert missing.status_code == 404 and missing.json()["type"].endswith("/not-shared")  # not "nothing stored": a denial, not an empty area


def test_erasure_removes_every_version_key_and_blob(pds):
    url, _, data = pds
    anna = Citizen()
    write(url, anna.auth, anna, 1, new_data_key())
    assert requests.delete(f"{url}/pds/v1/citizens/{anna.id}", auth=anna.auth).status_code == 204
    assert requests.get(f"{url}/pds/v1/citizens/{anna.id}/areas/work/versions/latest", auth=anna.auth).status_code == 404
    assert not any(p.is_file() for p in (data / "blobs").rglob("*"))


def test_the_pds_never_holds_plaintext(pds):
    url, _, data = pds
    anna = Citizen()
    write(url, anna.auth, anna, 1, new_data_key())
    for path in data.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert b"Utvecklare-hemlig" not in content and "Arbetsförmedlingen".encode() not in content, path


def test_openapi_document_is_served(pds):
    url, _, _ = pds
    doc = requests.get(f"{url}/openapi.json").json()
    assert doc["openapi"] == "3.1.0" and "/pds/v1/citizens/{citizen}/areas/{area}/versions" in doc["paths"]


def test_a_release_returns_the_latest_version_with_the_recipients_key(pds):
    url, operator, _ = pds
    anna, service = Citizen(), PrivateKey.generate()
    key = new_data_key()
    write(url, anna.auth, anna, 1, key)
    base = f"{url}/pds/v1/citizens/{anna.id}/areas/work"
    requests.put(f"{base}/keys/1", json={"wrapped": {"service:cv": wrap_key(key, bytes(service.public_key))}}, auth=anna.auth)
    got = requests.get(f"{base}/releases/service:cv", auth=operator).json()
    assert got["version"] == 1 and unwrap_key(got["wrapped_key"], service) == key
    assert requests.get(f"{base}/releases/service:other", auth=operator).status_code == 404
