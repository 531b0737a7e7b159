"""Versioned data agreements: a service publishes what it does with the data (DPV terms) as
numbered versions; a request names one and may ask no more; the citizen's record pins its
hash; a wider new version never moves an existing consent, and the citizen, asked again,
sees what changed."""

from __future__ import annotations

import copy

import pytest
import requests

from ledger import agreement, citizen
from ledger.citizen import OperatorError

from .worlds import WORK, World

EMBEDDED = pytest.mark.parametrize("node", ["embedded"], indirect=True)

READ_WORK = [{"area": "work", "access": "read"}]
V1 = {"purposes": ["dpv:ServiceProvision"], "data_areas": READ_WORK, "retention_days": 0, "recipients": [], "jurisdiction": "SE"}
V2 = {**V1, "data_areas": [*READ_WORK, {"area": "skills", "access": "read"}], "recipients": ["Bemanning AB"], "retention_days": 30}


def _publish(world: World, terms: dict) -> dict:
    return world.service.publish_agreement(terms["purposes"], terms["data_areas"], terms["retention_days"], terms["recipients"], terms["jurisdiction"])


def _ask(world: World, permissions: list[dict], version: int | None) -> str:
    return world.service.request_consent(world.cid, ["dpv:ServiceProvision"], permissions, 30, "https://cv.example/n", b"n", version)


def _pending(world: World, rid: str) -> dict:
    return next(r for r in citizen.pending_requests(world.wallet, world.citizen_op) if r["id"] == rid)


@EMBEDDED
def test_versions_are_numbered_the_same_terms_keep_the_latest_and_widening_is_named(world):
    first = _publish(world, V1)
    assert (first["version"], first["widens"]) == (1, []) and first["sha256"] == agreement.digest(first["agreement"])
    assert first["agreement"] == {"type": "mydata-data-agreement/1", "service": "cv-builder", "version": 1, "lawful_basis": "dpv:Consent", **V1}
    assert _publish(world, V1)["version"] == 1  # nothing changed: no new version
    second = _publish(world, V2)
    assert second["version"] == 2
    assert second["widens"] == ["read skills", "a new recipient: Bemanning AB", "keeps what it reads for 30 days, not only while the consent lasts"]
    listed = requests.get(f"{world.op.url}/v1/services/cv-builder/agreements", timeout=10).json()
    assert [a["version"] for a in listed] == [1, 2] and listed[0]["sha256"] == first["sha256"]
    one = requests.get(f"{world.op.url}/v1/services/cv-builder/agreements/1", timeout=10).json()
    assert one["agreement"] == first["agreement"]
    missing = requests.get(f"{world.op.url}/v1/services/cv-builder/agreements/9", timeout=10)
    assert missing.status_code == 404 and missing.json()["type"].endswith("/unknown-agreement")


@EMBEDDED
def test_only_the_service_publishes_its_agreement_and_bad_terms_are_refused(world):
    import os

    from nacl.public import PrivateKey

    from cv_service.sdk import ServiceClient

    other = ServiceClient(world.op.url, "job-board", os.urandom(32), PrivateKey.generate())
    other.register("Job Board", "Jobs", "https://jobs.example/cb")
    with pytest.raises(OperatorError) as refused:
        other.operator.post("/v1/services/cv-builder/agreements", V1)
    assert refused.value.problem["status"] == 403
    for bad in ({**V1, "jurisdiction": "se"}, {**V1, "data_areas": [{"area": "work", "access": "delete"}]}, {**V1, "retention_days": -1}, {**V1, "purposes": []}):
        with pytest.raises(OperatorError) as refused:
            world.service.operator.post("/v1/services/cv-builder/agreements", bad)
        assert refused.value.problem["status"] == 400, bad
    assert requests.get(f"{world.op.url}/v1/services/cv-builder/agreements", timeout=10).json() == []


@EMBEDDED
def test_a_request_may_ask_no_more_than_the_version_it_names(world):
    _publish(world, V1)
    for permissions, version, field in ([{"area": "skills", "access": "read"}], 1, "permissions"), (READ_WORK, 7, "agreement_version"):
        with pytest.raises(OperatorError) as refused:
            _ask(world, permissions, version)
        assert refused.value.problem["status"] == 400 and refused.value.problem["field"] == field


@EMBEDDED
def test_a_consent_pins_its_version_and_a_wider_one_asks_again(world):
    v1 = _publish(world, V1)
    rid = _ask(world, READ_WORK, 1)
    shown = _pending(world, rid)
    assert shown["agreement"]["version"] == 1 and shown["agreement"]["sha256"] == v1["sha256"]
    first = world.agent.approve(shown)["record"]
    assert first["agreement"] == {"version": 1, "sha256": v1["sha256"]}
    assert world.service.read_area(world.cid, "work") == WORK

    v2 = _publish(world, V2)  # wider: the first consent stays on version 1
    world.put_area("skills", [{"name": "Python"}])
    with pytest.raises(OperatorError) as refused:
        world.service.read_area(world.cid, "skills")
    assert refused.value.problem["type"].endswith("/area-not-granted")
    assert world.agent.wallet.reload().consent(first["record_id"])["record"]["agreement"]["version"] == 1

    again = _pending(world, _ask(world, [*READ_WORK, {"area": "skills", "access": "read"}], 2))
    agent = type(world.agent)(world.wallet.reload(), world.endpoints)
    assert agent.agreement_changes(again) == {"from": 1, "changes": v2["widens"]}
    page = world.citizen_app().test_client().get("/requests", base_url="http://127.0.0.1")
    assert 'id="changes-' in page.text and "Changed since you agreed to version 1" in page.text and "read skills" in page.text
    assert "shares it with Bemanning AB" in page.text and "processed in Sweden" in page.text
    second = agent.approve(again)["record"]
    assert second["agreement"] == {"version": 2, "sha256": v2["sha256"]}
    assert world.service.read_area(world.cid, "skills") == [{"name": "Python"}]


@EMBEDDED
def test_an_approval_must_pin_exactly_the_named_version(world):
    _publish(world, V1)
    _publish(world, V2)
    shown = _pending(world, _ask(world, READ_WORK, 1))
    info = world.citizen_op.info()
    for pinned in ({"version": 2, "sha256": agreement.digest(agreement.validate({**shown["agreement"]["agreement"], "version": 2}))}, None):
        rec, _, body = citizen.approval(world.wallet, info, shown)
        if pinned is None:
            body["record"].pop("agreement")
        else:
            body["record"]["agreement"] = pinned
        with pytest.raises(OperatorError) as refused:
            world.citizen_op.post(f"/v1/consent-requests/{shown['id']}/approve", body)
        assert refused.value.problem["field"] == "record.agreement" and "pins another data agreement" in refused.value.problem["detail"]


@EMBEDDED
def test_the_citizen_refuses_an_agreement_that_is_not_the_one_named(world):
    _publish(world, V1)
    shown = _pending(world, _ask(world, READ_WORK, 1))
    swapped = copy.deepcopy(shown)
    swapped["agreement"]["agreement"]["recipients"] = []  # the same
    citizen.approval(world.wallet, world.citizen_op.info(), swapped)
    swapped["agreement"]["agreement"]["retention_days"] = 3650  # shown one thing, pinned another
    with pytest.raises(agreement.AgreementError, match="is not version 1 with SHA-256"):
        citizen.approval(world.wallet, world.citizen_op.info(), swapped)


def test_agreement_rules():
    doc = agreement.validate({"type": "mydata-data-agreement/1", "service": "s", "version": 1, "lawful_basis": "dpv:Consent", **V1})
    wider = {**doc, **V2, "version": 2, "jurisdiction": "US", "purposes": ["dpv:ServiceProvision", "dpv:Marketing"], "lawful_basis": "dpv:ExplicitlyExpressedConsent"}
    assert agreement.widening(doc, wider) == [
        "a new purpose: dpv:Marketing", "read skills", "a new recipient: Bemanning AB", "keeps what it reads for 30 days, not only while the consent lasts",
        "processes data in US instead of SE", "another lawful basis: dpv:ExplicitlyExpressedConsent",
    ]
    assert agreement.widening(wider, doc) == ["processes data in SE instead of US", "another lawful basis: dpv:Consent"]  # narrower, but moved
    assert agreement.same_terms(doc, {**doc, "version": 5}) and not agreement.same_terms(doc, {**doc, "recipients": ["x"]})
    assert agreement.covers(doc, ["dpv:ServiceProvision"], READ_WORK) is None
    assert agreement.covers(doc, ["dpv:Marketing"], READ_WORK) == "purpose dpv:Marketing is not in agreement version 1"
    with pytest.raises(agreement.AgreementError, match="^version: 0 is less than the minimum of 1$"):
        agreement.validate({**doc, "version": 0})
    with pytest.raises(agreement.AgreementError, match="^the agreement shown is not version 1 with SHA-256 [0-9a-f]{64}$"):
        agreement.check_pinned({**doc, "version": 2}, agreement.pin(doc))
    assert agreement.covers(doc, ["dpv:ServiceProvision"], [{"area": "work", "access": "write"}]) == "write work is not in agreement version 1"
    import hashlib

    import rfc8785

    assert agreement.digest(doc) == hashlib.sha256(rfc8785.dumps(doc)).hexdigest() != agreement.digest({**doc, "version": 2})
    assert agreement.pin(doc) == {"version": 1, "sha256": agreement.digest(doc)}
    assert agreement.widening(doc, {**doc, "version": 2}) == []  # the same terms widen nothing (retention kept, not longer)
    assert agreement.widening({**doc, "retention_days": 30}, {**doc, "retention_days": 60}) == ["keeps what it reads for 60 days, not for 30 days"]
