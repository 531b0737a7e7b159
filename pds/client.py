"""The citizen's side of the PDS: write areas, share data keys with consented services,
and change the locks after a revocation.

Data keys never leave the citizen's side in the clear: the citizen recovers an area's
key from the PDS (wrapped for the citizen's own X25519 key) and wraps it for each
service that holds an active read consent on that area, per its receipts.
"""

from __future__ import annotations

import requests
from nacl.signing import SigningKey

from ledger.citizen import OperatorClient
from ledger.errors import MyDataError
from ledger.problem_json import problem_of, unreachable
from ledger.request_auth import RequestSigner
from ledger.wallet import Wallet

from .envelope import StaleEnvelope, check_current, new_data_key, open_envelope, seal, unwrap_key, wrap_key
from .resume import validate_area


class PdsClientError(MyDataError):
    """The PDS answered with an error (its HTTP status in `status`)."""

    problem_type = "pds-error"

    def __init__(self, detail: str, status: int):
        super().__init__(detail)
        self.status = status


class CitizenPds:
    def __init__(self, wallet: Wallet, pds_url: str, operator: OperatorClient):
        self.wallet = wallet
        self.id = wallet.keys.citizen_id()
        self.space = f"{pds_url.rstrip('/')}/pds/v1/citizens/{self.id}"
        self.base = self.space + "/areas"
        self.operator = operator
        self.signing = SigningKey(wallet.keys.request_seed())
        self.session = requests.Session()
        self.session.auth = RequestSigner(self.id, wallet.keys.request_seed())

    def _request(self, method: str, url: str, **kw) -> requests.Response:
        try:
            return self.session.request(method, url, timeout=30, **kw)
        except requests.RequestException as exc:
            raise PdsClientError(f"personal data store unreachable: {unreachable(url.split('/pds/')[0], exc)}", 503) from None

    def _call(self, method: str, path: str, **kw):
        resp = self._request(method, self.base + path, **kw)
        if resp.status_code == 404:
            return None
        if resp.status_code >= 400:
            problem = problem_of(resp)
            raise PdsClientError(problem.get("detail") or problem.get("title") or resp.reason, resp.status_code)
        return resp.json()

    def areas(self) -> list[str]:
        return self._call("GET", "")

    def readers(self, area: str) -> dict[str, bytes]:
        """`service:<id>` -> X25519 key of every service with an active read consent on `area`."""
        out = {}
        for cid, c in self.wallet.data["consents"].items():
            if {"area": area, "access": "read"} not in c["record"]["data_areas"]:
                continue
            if not self.operator.get(f"/ledger/consents/{cid}").json()["active"]:
                continue
            sid = c["record"]["controller"]["id"]
            out[f"service:{sid}"] = bytes.fromhex(self.operator.get(f"/v1/services/{sid}").json()["enc_key"])
        return out

    def _own_key(self, area: str, key_version: int) -> bytes:
        wrapped = self._call("GET", f"/{area}/keys/{key_version}/{self.id}")["wrapped"]
        return unwrap_key(wrapped, self.wallet.keys.encryption_key())

    def _store(self, area: str, version: int, key_version: int, key: bytes, document) -> None:
        env = seal(area, version, document, key, self.signing)
        self._call("POST", f"/{area}/versions", json={"version": version, "key_version": key_version, "envelope": env})
        self.wallet.saw_version(area, version)
        wraps = {self.id: wrap_key(key, bytes(self.wallet.keys.encryption_key().public_key)), **self._wrapped_for_readers(area, key)}
        self._call("PUT", f"/{area}/keys/{key_version}", json={"wrapped": wraps})

    def _wrapped_for_readers(self, area: str, key: bytes) -> dict[str, str]:
        return {rid: wrap_key(key, pub) for rid, pub in self.readers(area).items()}

    def write(self, area: str, document) -> int:
        """Validate and add a version under the area's current data key (a fresh key for a new area)."""
        validate_area(area, document)
        latest = self.latest(area)
        if latest is None:
            self._store(area, 1, 1, new_data_key(), document)
            return 1
        key = self._own_key(area, latest["key_version"])
        self._store(area, latest["version"] + 1, latest["key_version"], key, document)
        return latest["version"] + 1

    def read(self, area: str, trusted_writers: set[bytes] | None = None):
        latest = self.latest(area)
        if latest is None:
            return None
        trusted = (trusted_writers or set()) | {bytes(self.signing.verify_key)}
        document = open_envelope(latest["envelope"], self._own_key(area, latest["key_version"]), trusted)
        self.wallet.saw_version(area, latest["version"])
        return document

    def read_version(self, area: str, version: int):
        """One earlier version of an area, decrypted and checked to be sealed for that version."""
        found = self._call("GET", f"/{area}/versions/{version}")
        if found is None:
            return None
        check_current(found["envelope"], area, version, 0)
        return open_envelope(found["envelope"], self._own_key(area, found["key_version"]), {bytes(self.signing.verify_key)})

    def share(self, area: str) -> list[str]:
        """Wrap the area's current data key for every service that now holds read consent
        (after an approval). Returns the recipients; nothing to share if the area is empty."""
        latest = self.latest(area)
        if latest is None:
            return []
        key = self._own_key(area, latest["key_version"])
        wraps = self._wrapped_for_readers(area, key)
        if wraps:
            self._call("PUT", f"/{area}/keys/{latest['key_version']}", json={"wrapped": wraps})
        return sorted(wraps)

    def wrapped_for(self, area: str, key_version: int, recipient: str) -> bool:
        """Whether the PDS holds the area's key version wrapped for `recipient`."""
        return self._call("GET", f"/{area}/keys/{key_version}/{recipient}") is not None

    def latest(self, area: str) -> dict | None:
        """The latest version's metadata and envelope (None if the area is empty), refused
        (StaleEnvelope) unless it is sealed for this area and version and is no older than
        the newest version this wallet has written or read."""
        latest = self._call("GET", f"/{area}/versions/latest")
        seen = self.wallet.seen_version(area)
        if latest is None:
            if seen:
                raise StaleEnvelope(f"the store holds nothing in {area}, but version {seen} was seen before")
            return None
        check_current(latest["envelope"], area, latest["version"], seen)
        return latest

    def erase(self) -> None:
        """Delete every version, blob and wrapped key of this citizen in the PDS."""
        resp = self._request("DELETE", self.space)
        if resp.status_code != 204:
            raise PdsClientError(f"erasure refused: HTTP {resp.status_code}", resp.status_code)

    def change_locks(self, area: str) -> int:
        """Re-encrypt the latest version under a new data key wrapped only for the remaining
        readers, so a revoked service's old key opens no new version. Returns the new key version."""
        latest = self.latest(area)
        if latest is None:
            raise PdsClientError(f"nothing stored in {area}", 404)
        document = self.read(area, {bytes.fromhex(latest["writer"])})
        self._store(area, latest["version"] + 1, latest["key_version"] + 1, new_data_key(), document)
        return latest["key_version"] + 1
