"""A consent the citizen never gave is flagged by the citizen's own app: an operator test
double lists, in the citizen's name, a grant it put on chain with a key it made up."""

from __future__ import annotations

import os

import pytest

from ledger.keys import CitizenKeys
from web.citizen_agent import CitizenAgent

from .helpers import signed_grant

pytestmark = pytest.mark.parametrize("node", ["embedded"], indirect=True)


def _fabricate(world) -> dict:
    """What a forging operator adds to the citizen's report: a consent on chain whose key no
    seed of the citizen's derives."""
    rt = world.op.runtime
    grant, rec, _, _ = signed_grant(rt.registry, CitizenKeys(os.urandom(32)))
    rt.registry.grant(grant, world.op.account)
    return {
        "consent_id": rec["record_id"], "service": "cv-builder", "purposes": rec["purposes"], "permissions": rec["data_areas"],
        "granted_at": rec["granted_at"], "expires_at": rec["expires_at"], "status": "active", "chain_tx": "0x",
    }


@pytest.fixture
def forging_operator(world, monkeypatch):
    forged = _fabricate(world)
    honest = CitizenAgent.access_report
    monkeypatch.setattr(CitizenAgent, "access_report", lambda self: (lambda r: {**r, "consents": r["consents"] + [forged]})(honest(self)))
    return forged


def test_the_citizens_own_consents_pass_even_from_another_device(world):
    cid = world.consent([{"area": "work", "access": "read"}])
    assert world.agent.foreign_consents() == []
    world.agent.wallet.data["consents"].clear()  # the same phrase on a new device: no wallet copy
    assert world.agent.gave(cid) and world.agent.foreign_consents() == []


def test_a_consent_made_up_with_another_key_is_flagged(world, forging_operator):
    world.consent([{"area": "work", "access": "read"}])
    flagged = world.agent.foreign_consents()
    assert [c["consent_id"] for c in flagged] == [forging_operator["consent_id"]]
    assert flagged[0]["service_name"] == "CV Builder"
    assert not world.agent.gave("0x1234") and not world.agent.gave("not hex")


def test_the_app_shows_a_consent_you_never_gave_on_its_home_and_consents_pages(world, forging_operator, node):
    client = world.citizen_app().test_client()
    for page in ("/", "/consents"):
        html = client.get(page, base_url="http://127.0.0.1").get_data(as_text=True)
        assert 'id="foreign-consents"' in html and "A consent you never gave" in html and "CV Builder" in html


def test_log_entries_under_a_consent_you_never_gave_are_marked(world, forging_operator):
    world.consent([{"area": "work", "access": "read"}])
    assert world.read().status_code == 200
    history = world.agent.history()
    assert history and not any(e["never_given"] for e in history)
    forged_entry = {**history[-1], "entry": {**history[-1]["entry"], "consent_id": forging_operator["consent_id"]}}
    honest = CitizenAgent.history
    with pytest.MonkeyPatch.context() as m:
        m.setattr("web.citizen_agent.verify_history", lambda body, registry, vkey: [*({**e, "status": "verified"} for e in body["entries"]), forged_entry])
        marked = honest(world.agent)
    assert marked[-1]["never_given"] and not any(e["never_given"] for e in marked[:-1])
