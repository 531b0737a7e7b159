"""The auditor view: one page that runs the full audit on every visit and shows the result.

Log size, the latest signed checkpoint, the witnesses that cosigned the latest anchored one,
every anchor on chain with its transaction,
consistency verified since the previous visit, accesses per service, and any anomaly the
audit flags (a release after revocation or expiry, a log entry without its chain record,
an anchor that does not match) in red. It trusts nothing but the chain node: the log's
key is pinned on the first visit, as `mydata audit` does.
"""

from __future__ import annotations

from pathlib import Path

import requests
from flask import Blueprint, Flask, current_app, render_template

from httpkit import readable
from httpkit.http_headers import SecurityHeaders
from httpkit.http_limits import BodyLimits
from ledger.audit import AuditFailure, AuditState, run_audit
from ledger.chain import ChainError
from ledger.citizen import OperatorError
from ledger.registry import Registry, registry_factory
from ledger.tlog.cosignature import WitnessPolicy

bp = Blueprint("auditor", __name__)


@bp.get("/")
def overview():
    operator_url, registry_for, state_path, witnesses = current_app.extensions["auditor"]
    before = AuditState.load(state_path)
    report, anomaly = None, None
    try:
        report = run_audit(operator_url, registry_for, state_path, None, witnesses=witnesses)
    except AuditFailure as exc:
        anomaly = str(exc)
    except (ChainError, OperatorError, requests.RequestException, ValueError) as exc:
        anomaly = f"could not complete the audit: {exc}"
    state = AuditState.load(state_path)
    anchors = _anchors(registry_for(state.chain_id, state.contract), state.deployment_block) if state else []
    checkpoint = _text(operator_url + "/log/checkpoint")
    names = _service_names(operator_url, report.accesses_by_service if report else {})
    return render_template(
        "auditor/overview.html", app_name="MyData auditor", report=report, anomaly=anomaly, anchors=anchors, names=names,
        checkpoint=checkpoint, previous_size=before.size if before else 0, operator_url=operator_url, witnesses=witnesses,
    ), (200 if anomaly is None else 409)


def create_app(operator_url: str, chain_url: str, state_path: str | Path, witnesses: WitnessPolicy | None = None) -> Flask:
    """Assemble the auditor view: its one page, limits and security headers. With
    `witnesses`, the latest anchored checkpoint must be cosigned under that policy, and the
    page names the witnesses that did."""
    app = Flask("auditor_view", template_folder=str(Path(__file__).with_name("templates")), static_folder=str(Path(__file__).with_name("static")))
    app.extensions["auditor"] = (operator_url, registry_factory(chain_url), Path(state_path), witnesses)
    app.register_blueprint(bp)
    readable.install(app)
    app.wsgi_app = SecurityHeaders(BodyLimits(app.wsgi_app))
    return app


def _anchors(registry: Registry, from_block: int) -> list[dict]:
    """Every CheckpointAnchored event, newest first, read from the chain itself."""
    head = registry.client.block_number()
    anchored = [e for e in registry.events(from_block, head) if e.name == "CheckpointAnchored"]
    return [
        {
            "size": e.args.get("size"), "root": "0x" + bytes(e.args.get("root", b"")).hex(), "block": e.block, "tx": e.tx,
            "time": registry.client.w3.eth.get_block(e.block)["timestamp"],
        }
        for e in reversed(anchored)
    ]


def _service_names(operator_url: str, ids) -> dict[str, str]:
    """Each service's name as the operator's directory publishes it (its id if unknown)."""
    names = {}
    for sid in ids:
        try:
            resp = requests.get(f"{operator_url}/v1/services/{sid}", timeout=10)
            names[sid] = resp.json()["name"] if resp.status_code == 200 else sid
        except (requests.RequestException, ValueError, KeyError):
            names[sid] = sid
    return names


def _text(url: str) -> str | None:
    try:
        resp = requests.get(url, timeout=30)
        return resp.text if resp.status_code == 200 else None
    except requests.RequestException:
        return None
