"""The operator hands a consent's receipt to its service once and then keeps only what the
release path and the Art 15 report need: the SDK keeps the receipt, tells the operator to
drop its copy, and still answers with it; nobody else can make the operator drop it."""

from __future__ import annotations

import base64
import json

import pytest
import requests

from ledger import receipt
from ledger.registry import Registry
from ledger.request_auth import RequestSigner

pytestmark = pytest.mark.parametrize("node", ["embedded"], indirect=True)

READ_WORK = [{"area": "work", "access": "read"}]


def _approved(world) -> tuple[str, str]:
    rid = world.service.request_consent(world.cid, ["dpv:ServiceProvision"], READ_WORK, 30, "https://cv.example/n", b"n")
    pending = next(r for r in world.agent.pending() if r["id"] == rid)
    return rid, world.agent.approve(pending)["grant"]["consent_id"]


def test_the_service_takes_the_receipt_once_and_keeps_it(world):
    rid, consent_id = _approved(world)
    first = world.service.consent_request(rid)
    assert first["receipt"]["grant"]["consent_id"] == consent_id and first["granted"] == READ_WORK
    raw = world.service.operator.get(f"/v1/consent-requests/{rid}").json()
    assert raw["receipt"] is None and raw["granted"] == READ_WORK and raw["consent_id"] == consent_id  # the operator dropped its copy
    again = world.service.consent_request(rid)
    assert again["receipt"] == first["receipt"]  # kept by the service
    assert receipt.verify(again["receipt"], lambda chain_id, contract: Registry(world.op.runtime.client, contract)).status == "active"
    assert world.service.consent_for(rid).allows("work") and not world.service.consent_for(rid).allows("skills")


def test_the_art15_report_needs_no_receipt(world):
    rid, consent_id = _approved(world)
    world.service.consent_request(rid)
    [consent] = world.agent.access_report()["consents"]
    kept = world.wallet.reload().consent(consent_id)
    grant_entry = json.loads(base64.b64decode(kept["receipt"]["log"]["entry"]))  # the log's consent.granted entry
    assert (consent["purposes"], consent["expires_at"]) == (kept["record"]["purposes"], kept["record"]["expires_at"])
    assert (consent["granted_at"], consent["chain_tx"]) == (grant_entry["time"], kept["receipt"]["chain"]["tx"])


def test_only_the_service_that_asked_drops_the_receipt(world):
    import os

    from nacl.public import PrivateKey

    from cv_service.sdk import ServiceClient

    rid, _ = _approved(world)
    url = f"{world.op.url}/v1/consent-requests/{rid}/receipt"
    citizen = requests.Session()
    citizen.auth = RequestSigner(world.cid, world.wallet.keys.request_seed())
    assert citizen.delete(url, timeout=10).status_code == 403
    other = ServiceClient(world.op.url, "job-board", os.urandom(32), PrivateKey.generate())
    other.register("Job Board", "Jobs", "https://jobs.example/cb")
    assert other.operator.session.delete(url, timeout=10).status_code == 403
    assert requests.delete(url, timeout=10).status_code == 401  # unsigned
    assert world.service.operator.get(f"/v1/consent-requests/{rid}").json()["receipt"] is not None  # still there for the service
