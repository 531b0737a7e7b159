"""The ledger over HTTP: relay signed grants and revocations, consent status, receipt evidence, anchors.

Grants and revocations carry the citizen's EIP-712 signature; the operator only
relays them, so it can neither forge nor replay one (the contract refuses a
duplicate id and a second revocation).
"""

from __future__ import annotations

import base64
import hmac
import re
from typing import TYPE_CHECKING

from flask import Blueprint, jsonify, request

from httpkit.json_bodies import json_body
from httpkit.problems import Problem, bad_request
from ledger import events
from ledger.chain import ChainError, ContractReverted
from ledger.contract import artifact
from ledger.eip712 import typed_data
from ledger.lookup_keys import consent_key
from ledger.registry import SignedGrant
from ledger.tlog.tlog_proof import TlogProof

from ..access.approval import check_authorization
from ..keystore import OPERATOR_KEY_ID
from . import schemas
from .http_util import runtime

if TYPE_CHECKING:
    from ..runtime import OperatorRuntime

bp = Blueprint("ledger", __name__, url_prefix="/ledger")

_CONSENT_ID = re.compile(schemas.HEX32_0X)


def _bytes(hex_text: str) -> bytes:
    """0x-prefixed hex, already checked against its schema pattern."""
    return bytes.fromhex(hex_text[2:])


def chain_problem(exc: ChainError) -> Problem:
    if isinstance(exc, ContractReverted):
        slug = re.sub(r"(?<!^)(?=[A-Z])", "-", exc.name).lower()
        return Problem(409, slug, f"The registry refused: {exc.name}", str(exc))
    return Problem(502, "chain-unavailable", "The chain did not accept the request", str(exc))


def relay(fn):
    rt = runtime()
    try:
        with rt.tx_lock:
            receipt = fn()
    except ChainError as exc:
        raise chain_problem(exc) from None
    rt.follower.sync(receipt["blockNumber"])
    return receipt


@bp.get("/info")
def info():
    rt = runtime()
    dep = rt.deployment
    return jsonify(
        {
            "chain_id": dep.chain_id,
            "contract": dep.address,
            "deployment_block": dep.block,
            "anchorer": dep.anchorer,
            "eip712": {
                "domain": typed_data("Grant", {}, dep.chain_id, dep.address)["domain"],
                "types": artifact()["eip712"]["types"],
            },
            "log": {"origin": rt.log.origin, "vkey": rt.signer.verifier.vkey, "size": rt.log.size},
            "notifications": {"key_id": OPERATOR_KEY_ID, "public_key": rt.notifier.key.hex() if rt.notifier else None},
            "followed_block": rt.follower.last_block,
        }
    )


@bp.post("/grants")
def grants():
    items = json_body(schemas.GRANTS)["grants"]
    signed = [SignedGrant(_bytes(g["consent_id"]), _bytes(g["commitment"]), g["expires_at"], _bytes(g["signature"])) for g in items]
    dep = runtime().deployment
    for i, (grant, item) in enumerate(zip(signed, items, strict=True)):
        check_authorization(grant, item["authorization"], dep.chain_id, dep.address, None, None, f"grants[{i}]")
    reg = runtime().registry
    receipt = relay(lambda: reg.grant(signed[0]) if len(signed) == 1 else reg.grant_batch(signed))
    return jsonify(_outcome(receipt, [g.consent_id for g in signed])), 201


@bp.post("/revocations")
def revocations():
    body = json_body(schemas.REVOCATION)
    cid, sig = _bytes(body["consent_id"]), _bytes(body["signature"])
    receipt = relay(lambda: runtime().registry.revoke_by_sig(cid, sig))
    return jsonify(_outcome(receipt, [cid])), 201


def _outcome(receipt: dict, consent_ids: list[bytes]) -> dict:
    log = runtime().log
    return {
        "tx": "0x" + bytes(receipt["transactionHash"]).hex(),
        "block": receipt["blockNumber"],
        "consents": [
            {"consent_id": "0x" + c.hex(), "log_indices": log.find(consent_key("0x" + c.hex()))} for c in consent_ids
        ],
    }


def _consent_id(raw: str) -> str:
    if not _CONSENT_ID.match(raw):
        raise bad_request("consent id must be 0x-prefixed 32-byte hex")
    return raw.lower()


@bp.get("/consents/<raw_id>")
def consent(raw_id: str):
    cid = _consent_id(raw_id)
    rt = runtime()
    c = rt.registry.consent(bytes.fromhex(cid[2:]))
    if not c.exists:
        raise Problem(404, "unknown-consent", "No such consent on chain", cid)
    return jsonify(
        {
            "consent_id": cid,
            "commitment": "0x" + c.commitment.hex(),
            "expires_at": c.expires_at,
            "granted_at": c.granted_at,
            "revoked_at": c.revoked_at or None,
            "signer": c.signer,
            "active": rt.registry.is_active(bytes.fromhex(cid[2:])),
            "log_indices": rt.log.find(consent_key(cid)),
        }
    )


@bp.get("/consents/<raw_id>/evidence")
def evidence(raw_id: str):
    return jsonify(receipt_evidence(runtime(), _consent_id(raw_id)))


def receipt_evidence(rt: OperatorRuntime, cid: str) -> dict:
    """What a receipt needs from the operator: the grant's log entry, its inclusion proof
    against an anchored checkpoint, and the anchoring transaction (anchoring now if needed)."""
    rt.follower.sync()
    grant_index = next(
        (i for i in rt.log.find(consent_key(cid)) if events.decode(rt.log.entry(i))["type"] == events.CONSENT_GRANTED),
        None,
    )
    if grant_index is None:
        raise Problem(404, "unknown-consent", "No grant for this consent in the log", cid)
    try:
        with rt.tx_lock:
            anchor = rt.anchorer.ensure_covers(grant_index)
    except ChainError as exc:
        raise chain_problem(exc) from None
    checkpoint = rt.log.checkpoint_at(anchor.size)
    proof = TlogProof(grant_index, rt.log.inclusion_proof(grant_index, anchor.size), checkpoint)
    entry = rt.log.entry(grant_index)
    return {
        "log_index": grant_index,
        "entry": base64.b64encode(entry).decode(),
        "tlog_proof": proof.text(),
        "anchor": {
            "size": anchor.size,
            "root": "0x" + anchor.root.hex(),
            "tx": anchor.tx,
            "block": anchor.block,
            "index": anchor.anchor_index,
        },
        "log": {"origin": rt.log.origin, "vkey": rt.signer.verifier.vkey},
    }


@bp.post("/anchor")
def anchor_now():
    """Anchor the latest checkpoint now (admin only: it spends the operator's gas)."""
    rt = runtime()
    given = request.headers.get("Authorization", "").removeprefix("Bearer ")
    if not hmac.compare_digest(given.encode(), rt.admin_token.encode()):
        raise Problem(401, "unauthorized", "Admin token required", "send Authorization: Bearer <admin token>")
    try:
        with rt.tx_lock:
            rec = rt.anchorer.anchor_now()
    except ChainError as exc:
        raise chain_problem(exc) from None
    if rec is None:
        raise Problem(409, "nothing-to-anchor", "The log is empty")
    return jsonify({"size": rec.size, "root": "0x" + rec.root.hex(), "tx": rec.tx, "block": rec.block, "index": rec.anchor_index})
