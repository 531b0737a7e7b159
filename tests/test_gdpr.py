"""The citizen's rights on the citizen's side: approval shares data keys, the Art 15 report,
the Art 20 export, and erasure that leaves nothing linking the citizen to the log or chain."""

import pytest
import requests

from ledger import receipt
from ledger.citizen import OperatorError
from ledger.registry import Registry

from .worlds import SKILLS, WORK


def request_and_approve(world, permissions):
    world.service.request_consent(world.cid, ["dpv:ServiceProvision"], permissions, 30, "https://cv.example/n", b"n")
    return world.agent.approve(world.agent.pending()[-1])["grant"]["consent_id"]


def test_approval_shares_the_keys_of_the_granted_read_areas(world):
    world.agent.save_section("skills", SKILLS)  # written before any consent: wrapped for the citizen only
    request_and_approve(world, [{"area": "skills", "access": "read"}])
    assert world.service.read_area(world.cid, "skills") == SKILLS


def test_art15_report_names_recipients_purposes_times_and_refusals(world):
    cid = request_and_approve(world, [{"area": "work", "access": "read"}])
    assert world.read().status_code == 200
    assert world.read("education").status_code == 403
    world.service.request_consent(world.cid, ["dpv:Marketing"], [{"area": "skills", "access": "read"}], 7, "https://cv.example/n", b"n")
    world.agent.refuse(world.agent.pending()[-1])

    report = world.agent.access_report()
    assert report["recipients"] == [{"service": "cv-builder", "name": "CV Builder", "areas": ["work"], "releases": 1, "last_release": report["accesses"][0]["time"]}]
    [consent] = report["consents"]
    assert consent["consent_id"] == cid and consent["purposes"] == ["dpv:ServiceProvision"] and consent["status"] == "active"
    assert [(a["type"], a["area"], a["decision"]) for a in report["accesses"]] == [("data.read", "work", "released"), ("data.denied", "education", "denied")]
    assert report["refused_requests"][0]["purposes"] == ["dpv:Marketing"]
    assert report["refused_requests"][0]["partial"] is False and report["refused_requests"][0]["permissions"] == [{"area": "skills", "access": "read"}]


def test_permissions_left_out_of_an_approval_are_logged_and_reported_as_refused(world):
    from ledger import events

    asked = [{"area": "work", "access": "read"}, {"area": "skills", "access": "read"}, {"area": "certificates", "access": "write"}]
    world.service.request_consent(world.cid, ["dpv:ServiceProvision"], asked, 30, "https://cv.example/n", b"n")
    request = world.agent.pending()[-1]
    world.agent.approve(request, [asked[0]])
    [refusal] = world.agent.access_report()["refused_requests"]
    assert refusal["request"] == request["id"] and refusal["partial"] is True and refusal["permissions"] == asked[1:]
    logged = [events.decode(world.op.runtime.log.entry(i)) for i in world.op.runtime.log.find("request:" + request["id"])]
    assert [(e["type"], e["permissions"]) for e in logged] == [(events.CONSENT_REFUSED, asked[1:])]
    world.service.request_consent(world.cid, ["dpv:ServiceProvision"], asked[:1], 30, "https://cv.example/n", b"n")
    world.agent.approve(world.agent.pending()[-1])  # everything asked for granted: nothing refused
    assert len(world.agent.access_report()["refused_requests"]) == 1


def test_only_the_citizen_gets_its_report_or_erases(world):
    for session in (world.service.operator.session, requests.Session()):
        assert session.get(f"{world.op.url}/v1/citizens/{world.cid}/report").status_code in (401, 403)
        assert session.delete(f"{world.op.url}/v1/citizens/{world.cid}").status_code in (401, 403)


def test_art20_export_holds_the_resume_and_verifiable_receipts(world):
    request_and_approve(world, [{"area": "work", "access": "read"}])
    export = world.agent.export()
    assert export["resume"] == {"work": WORK}
    [rcpt] = export["receipts"]
    report = receipt.verify(rcpt, lambda chain_id, contract: Registry(world.op.runtime.client, contract))
    assert report.status == "active"


def test_erasure_is_refused_while_a_consent_is_active(world):
    cid = request_and_approve(world, [{"area": "work", "access": "read"}])
    with pytest.raises(OperatorError) as err:
        world.agent.operator.delete(f"/v1/citizens/{world.cid}")
    assert err.value.problem["type"].endswith("/active-consents") and err.value.problem["consents"] == [cid]
    assert world.read().status_code == 200  # nothing was erased


def test_erasure_revokes_then_leaves_nothing_linking_the_citizen(world, tmp_path):
    cid = request_and_approve(world, [{"area": "work", "access": "read"}])
    assert world.read().status_code == 200
    out = world.agent.erase()
    assert out["revoked"] == [cid]
    assert not world.wallet.path.exists()
    assert world.citizen_pds.get(f"{world.pds_url}/pds/v1/citizens/{world.cid}/areas").json() == []
    rt = world.op.runtime
    assert rt.directory.requests_of(world.cid) == [] and rt.directory.consents_for_citizen(world.cid) == []
    assert rt.log.find(world.cid) == []
    assert rt.registry.consent(bytes.fromhex(cid[2:])).revoked_at  # the chain keeps the (unlinkable) commitment
    citizen_hex = world.cid.split(":")[1].encode()
    for path in [*(tmp_path / "operator").glob("operator.sqlite*"), *(tmp_path / "operator").glob("log*.sqlite*"), *(tmp_path / "pds").glob("pds.sqlite*")]:
        assert citizen_hex not in path.read_bytes(), path


def test_the_art15_report_reads_as_a_page_with_names_plain_words_and_proof_badges(world, node):
    request_and_approve(world, [{"area": "work", "access": "read"}, {"area": "skills", "access": "read"}])
    assert world.read().status_code == 200
    assert world.read("skills").status_code == 200  # nothing stored there: a read of nothing
    assert [r["areas"] for r in world.agent.access_report()["recipients"]] == [["work"]]  # received nothing of skills
    world.service.request_consent(world.cid, ["dpv:Marketing"], [{"area": "skills", "access": "read"}], 7, "https://cv.example/n", b"n")
    world.agent.refuse(world.agent.pending()[-1])
    world.op.runtime.anchorer.anchor_now()
    html = world.citizen_app().test_client().get("/data/report", base_url="http://127.0.0.1").get_data(as_text=True)
    assert "What the operator knows about you" in html and "data-print" in html
    assert "CV Builder" in html and "providing the service you use" in html and "dpv:" not in html
    assert "✓ proven" in html and "read work" in html and "found nothing in skills" in html
    assert "asked to read skills for marketing: you refused on" in html


def test_an_area_stored_but_not_shared_with_the_service_is_a_denial_not_an_empty_read(world):
    world.agent.save_section("skills", SKILLS)  # wrapped for the citizen only
    world.consent([{"area": "skills", "access": "read"}])  # approved without sharing the key
    resp = world.read("skills")
    assert resp.status_code == 404 and resp.json()["type"].endswith("/not-shared")
    [denial] = [a for a in world.agent.access_report()["accesses"] if a["type"] == "data.denied"]
    assert (denial["area"], denial["reason"]) == ("skills", "not-shared")
