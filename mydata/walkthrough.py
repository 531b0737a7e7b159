"""`mydata demo --walkthrough`: the whole MyData story against the running processes,
without a person. Each step checks what it did; the first one that misbehaves stops the
walk with its name and reason (exit status 1).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import click
import requests

from ledger import events
from ledger.audit import run_audit
from ledger.errors import MyDataError
from ledger.registry import registry_factory

from .stack import Stack

JSON = {"Accept": "application/json"}
NOTIFIED_WITHIN = 10.0  # seconds the walk waits for the CV service to hear of a revocation


class StepFailed(MyDataError):
    problem_type = "walkthrough-step-failed"

    pass


def expect(ok: bool, why: str) -> None:
    if not ok:
        raise StepFailed(why)


@dataclass
class Walk:
    stack: Stack
    agent: object  # web.citizen_agent.CitizenAgent
    http: requests.Session = field(default_factory=requests.Session)
    state: dict = field(default_factory=dict)

    @property
    def cv_url(self) -> str:
        return self.stack.url("cv_service")

    def cv_page(self) -> requests.Response:
        return self.http.get(f"{self.cv_url}/cv", headers=JSON, timeout=60)

    def csrf(self) -> dict:
        """The CV service session's CSRF token, as a header for posting to it."""
        return {"X-CSRFToken": self.http.get(f"{self.cv_url}/", headers=JSON, timeout=60).json()["csrf_token"]}


def service_registered(w: Walk) -> str:
    from cv_service.app import NAME, SERVICE_ID

    resp = w.http.get(f"{w.stack.url('operator')}/v1/services/{SERVICE_ID}", timeout=30)
    expect(resp.status_code == 200 and resp.json()["name"] == NAME, f"the operator does not know {SERVICE_ID}: {resp.text[:200]}")
    return f"{SERVICE_ID} ({NAME}) is registered with the operator"


def signed_in(w: Walk) -> str:
    from cv_service.app import SERVICE_ID

    challenge = w.http.get(f"{w.cv_url}/signin", headers=JSON, timeout=60).json()["challenge"]
    service = w.agent.sign_in(SERVICE_ID, challenge)
    resp = w.http.get(f"{w.cv_url}/signin", allow_redirects=False, timeout=60)
    expect(resp.status_code == 303, f"the CV service did not sign the citizen in: {resp.status_code}")
    me = w.http.get(f"{w.cv_url}/", headers=JSON, timeout=60).json()["citizen"]
    expect(me == w.agent.id, f"the CV service's session is {me}, not the citizen")
    return f"the citizen's app answered {service['name']}'s sign-in challenge at its registered callback"


def consent_requested(w: Walk) -> str:
    resp = w.http.post(f"{w.cv_url}/connect", headers=w.csrf(), allow_redirects=False, timeout=60)
    expect(resp.status_code == 303, f"the CV service answered {resp.status_code}: {resp.text[:200]}")
    w.state["request"] = resp.headers["Location"].rsplit("/", 1)[-1]
    pending = [r for r in w.agent.pending() if r["id"] == w.state["request"]]
    expect(len(pending) == 1, "the citizen does not see the request")
    w.state["pending"] = pending[0]
    areas = ", ".join(f"{p['access']} {p['area']}" for p in pending[0]["permissions"])
    return f"request {w.state['request']} pending in the citizen's app: {areas}"


def granted(w: Walk) -> str:
    rcpt = w.agent.approve(w.state["pending"])
    w.state["consent"] = rcpt["grant"]["consent_id"]
    status = w.http.get(f"{w.cv_url}/requests/{w.state['request']}", headers=JSON, timeout=60).json()
    expect(status["status"] == "approved", f"the service sees the request as {status['status']}")
    expect(status["receipt_status"] == "active", f"the service's receipt check says {status['receipt_status']}")
    pinned = rcpt["record"].get("agreement")
    expect(pinned is not None, "the consent record pins no data agreement, though the request named one")
    return f"consent {w.state['consent']} on chain in block {rcpt['chain']['block']} under data agreement version {pinned['version']}; the service verified its receipt"


def read_ok(w: Walk) -> str:
    from web.demo_citizen import DEMO_RESUME

    resp = w.cv_page()
    expect(resp.status_code == 200, f"the CV page answered {resp.status_code}: {resp.text[:200]}")
    sections = resp.json()["sections"]
    for area in ("work", "education", "skills"):
        expect(sections.get(area) == DEMO_RESUME[area], f"the CV page shows no or wrong {area}")
    return "the CV page shows work, education and skills as released by the operator"


def certificate_written(w: Walk) -> str:
    resp = w.http.post(f"{w.cv_url}/cv/certificates", json={"course": "MyData Consent Basics"}, headers={**JSON, **w.csrf()}, timeout=60)
    expect(resp.status_code == 201, f"the issuer answered {resp.status_code}: {resp.text[:200]}")
    certificates = w.agent.cv().get("certificates") or []
    expect(any(c["name"] == "MyData Consent Basics" for c in certificates), "the citizen does not find the certificate")
    return f"certificate in version {resp.json()['version']} of certificates, signed by the service and verified by the citizen"


def revoked(w: Walk) -> str:
    w.state["locks_before"] = {a: w.agent.pds.latest(a)["key_version"] for a in ("work", "education", "skills")}
    outcome = w.agent.revoke(w.state["consent"])
    w.state["relocked"] = outcome["relocked"]
    mine = next(c for c in w.agent.consents() if c["consent_id"] == w.state["consent"])
    expect(mine["status"] == "revoked", f"the chain says {mine['status']}")
    w.state["revoked_at"] = time.monotonic()
    return f"revoked in block {outcome['block']} (chain confirmed at {mine['revoked_at']})"


def service_told(w: Walk) -> str:
    """The operator's signed notification reaches the CV service, which drops its copy."""
    deadline = time.monotonic() + NOTIFIED_WITHIN
    while (told := (w.cv_page().json().get("ended") or {}).get("told")) is None and time.monotonic() < deadline:
        time.sleep(0.02)
    expect(told is not None, f"the CV service heard nothing of the revocation within {NOTIFIED_WITHIN:.0f} s")
    seconds = time.monotonic() - w.state["revoked_at"]
    expect(told["reason"] == "revoked" and told["dropped"] >= 1, f"the CV service was told {told!r}")
    return f"the operator's signed notification reached the CV service {seconds * 1000:.0f} ms after the revocation; it deleted the {told['dropped']} sections it kept"


def read_denied(w: Walk) -> str:
    """The CV service learns the consent ended and asks for nothing; a read made anyway (a
    service that ignores the revocation) is refused by the operator and logged."""
    from cv_service.app import SERVICE_ID
    from cv_service.identity import ServiceIdentity
    from cv_service.sdk import ServiceClient
    from ledger.citizen import OperatorError

    resp = w.cv_page()
    expect(resp.status_code == 403, f"the CV page answered {resp.status_code} after revocation")
    ended = resp.json()["ended"]
    expect(ended and ended["how"] == "revoked", f"the CV page does not say the consent was revoked: {ended!r}")
    identity = ServiceIdentity.load_or_create(w.stack.data_dir / "cv-service" / "service-keys.json")
    stale = ServiceClient(w.stack.url("operator"), SERVICE_ID, identity.sign_seed, identity.enc_key)
    try:
        stale.read_area(w.agent.id, "work")
    except OperatorError as exc:
        expect(exc.problem.get("type", "").endswith("/revoked"), f"a read after revocation was refused for {exc.problem.get('type')}, not revoked")
    else:
        expect(False, "a read after revocation was released")
    return "the CV page says the consent was revoked and reads nothing; a read made anyway is refused: revoked"


def locks_changed(w: Walk) -> str:
    from cv_service.app import SERVICE_ID

    for area, old in w.state["locks_before"].items():
        new = w.state["relocked"].get(area)
        expect(new == old + 1, f"{area} was not re-keyed")
        expect(w.agent.pds.wrapped_for(area, old, f"service:{SERVICE_ID}"), f"{area}'s old key was never the service's")
        expect(not w.agent.pds.wrapped_for(area, new, f"service:{SERVICE_ID}"), f"{area}'s new key is wrapped for the revoked service")
    return f"re-encrypted {', '.join(sorted(w.state['relocked']))} under new keys the revoked service does not hold"


def history_verified(w: Walk) -> str:
    from consent_operator.keystore import admin_token

    token = admin_token(w.stack.data_dir / "operator")
    resp = w.http.post(f"{w.stack.url('operator')}/ledger/anchor", headers={"Authorization": f"Bearer {token}"}, timeout=120)
    expect(resp.status_code == 200, f"anchoring failed: {resp.text[:200]}")
    history = w.agent.history()
    kinds = {(h["entry"]["type"], h["entry"].get("reason")) for h in history}
    for kind in [(events.CONSENT_GRANTED, None), (events.DATA_READ, None), (events.DATA_WRITTEN, None), (events.CONSENT_REVOKED, None), (events.DATA_DENIED, "revoked")]:
        expect(kind in kinds, f"the history lacks {kind[0]}{' (' + kind[1] + ')' if kind[1] else ''}")
    bad = [h["index"] for h in history if h["status"] != "verified"]
    expect(not bad, f"entries {bad} did not verify against the anchored checkpoint")
    return f"{len(history)} entries, each proven included in the checkpoint anchored on chain"


def gdpr_reports(w: Walk) -> str:
    from cv_service.app import NAME

    report = w.agent.access_report()
    expect(any(r["name"] == NAME for r in report["recipients"]), "the Art 15 report does not name the CV service")
    export = w.agent.export()
    expect(export["resume"].get("work") and export["receipts"], "the Art 20 export lacks the CV or the receipt")
    return f"Art 15 report: {len(report['accesses'])} accesses by {len(report['recipients'])} recipient; Art 20 export: CV and {len(export['receipts'])} receipt"


def audit_ok(w: Walk) -> str:
    """The full audit, trusting the latest anchored checkpoint only if every witness of the
    demo cosigned it."""
    from ledger.tlog.cosignature import WitnessPolicy

    keys = list(w.stack.witness_keys.values())
    policy = WitnessPolicy.parse(len(keys), keys) if keys else None
    report = run_audit(w.stack.url("operator"), registry_factory(w.stack.chain_url), w.stack.data_dir / "auditor" / "state.json", None, witnesses=policy)
    expect(len(report.cosigners) == len(keys), f"the latest anchored checkpoint has cosignatures of {report.cosigners}, not of all {len(keys)} witnesses")
    witnessed = f"; the latest anchored checkpoint cosigned by {' and '.join(report.cosigners)}" if keys else ""
    return f"log of {report.size} entries verified; {report.anchors_checked} anchors and {report.chain_events_checked} chain events match{witnessed}"


def erased(w: Walk) -> str:
    citizen_id = w.agent.id
    w.agent.erase()
    expect(w.agent.pds.areas() == [], "the PDS still holds areas")
    expect(not w.agent.wallet.path.exists(), "the wallet file survived")
    return f"{citizen_id[:20]}… erased: PDS data, operator links and wallet (salts) are gone"


STEPS: list[tuple[str, Callable[[Walk], str]]] = [
    ("register service", service_registered),
    ("sign in with MyData", signed_in),
    ("request consent", consent_requested),
    ("grant", granted),
    ("read OK", read_ok),
    ("write certificate", certificate_written),
    ("revoke", revoked),
    ("service told", service_told),
    ("read denied", read_denied),
    ("change the locks", locks_changed),
    ("access history with proofs", history_verified),
    ("GDPR Art 15 and Art 20", gdpr_reports),
    ("audit OK", audit_ok),
    ("erasure", erased),
]


def walk(stack: Stack, agent) -> None:
    """Run every step in order; raise ClickException naming the first that fails."""
    w = Walk(stack, agent)
    for number, (name, step) in enumerate(STEPS, 1):
        try:
            detail = step(w)
        except Exception as exc:  # noqa: BLE001 - any failure is this step's failure
            click.echo(f"✗ {number:2}. {name}: {exc}")
            raise click.ClickException(f"walkthrough failed at step {number} ({name}): {exc}") from None
        click.echo(f"✓ {number:2}. {name}: {detail}")
    click.echo("walkthrough complete: every step behaved")
