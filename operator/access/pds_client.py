"""The operator's signed client for the PDS (key id `operator`)."""

from __future__ import annotations

import requests

from ledger.errors import MyDataError
from ledger.problem_json import problem_of
from ledger.request_auth import RequestSigner

from ..keystore import OPERATOR_KEY_ID


class PdsError(MyDataError):
    """The PDS refused (its status and problem), or could not be reached (503)."""

    problem_type = "pds-error"

    def __init__(self, status: int, problem: dict):
        super().__init__(problem.get("detail") or problem.get("title", f"HTTP {status}"))
        self.status, self.problem = status, problem


class PdsClient:
    def __init__(self, url: str, seed: bytes):
        self.url = url.rstrip("/")
        self.session = requests.Session()
        self.session.auth = RequestSigner(OPERATOR_KEY_ID, seed)

    def _call(self, method: str, path: str, **kw):
        try:
            resp = self.session.request(method, f"{self.url}/pds/v1{path}", timeout=30, **kw)
        except requests.RequestException as exc:  # down, restarting, or a worker killed mid-answer
            raise PdsError(503, {"title": "The PDS cannot be reached", "detail": str(exc)[:200]}) from None
        if resp.status_code >= 400:
            raise PdsError(resp.status_code, problem_of(resp))
        return resp.json()

    def release(self, citizen: str, area: str, recipient: str) -> dict:
        """The latest version of an area with its data key wrapped for `recipient`."""
        return self._call("GET", f"/citizens/{citizen}/areas/{area}/releases/{recipient}")

    def history(self, citizen: str, area: str) -> list[dict]:
        return self._call("GET", f"/citizens/{citizen}/areas/{area}/versions")

    def add_version(self, citizen: str, area: str, body: dict) -> dict:
        return self._call("POST", f"/citizens/{citizen}/areas/{area}/versions", json=body)

    def put_keys(self, citizen: str, area: str, key_version: int, wrapped: dict[str, str]) -> dict:
        return self._call("PUT", f"/citizens/{citizen}/areas/{area}/keys/{key_version}", json={"wrapped": wrapped})
