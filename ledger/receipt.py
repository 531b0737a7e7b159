"""Consent receipts: an offline bundle a service keeps as proof of consent, verifiable with
nothing but a chain node (no operator online).

It carries the record and its salt, the citizen's EIP-712 signature, the grant's
chain transaction, the grant's log entry with a C2SP tlog-proof against a signed
checkpoint, and the transaction that anchored that checkpoint on chain.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
import referencing
from eth_typing import HexStr
from web3 import Web3
from web3.exceptions import TransactionNotFound
from web3.logs import DISCARD

from . import consent_binding, eip712, events, record
from .errors import MyDataError
from .registry import Registry, RegistryFor
from .schema_errors import first_error
from .tlog import merkle
from .tlog.checkpoint import CheckpointError, open_checkpoint
from .tlog.cosignature import CosignatureError, WitnessPolicy
from .tlog.note import NoteError, Verifier
from .tlog.tlog_proof import TlogProof, TlogProofError

RECEIPT_TYPE = "mydata-consent-receipt/1"


class ReceiptError(MyDataError, ValueError):
    """A receipt does not verify; `check` names the failing part."""

    problem_type = "invalid-receipt"

    def __init__(self, check: str, detail: str):
        super().__init__(f"{check}: {detail}")
        self.check = check


@dataclass
class ReceiptReport:
    consent_id: str
    status: str  # active, revoked or expired
    checks: list[str] = field(default_factory=list)


def build(rec: dict[str, Any], salt: bytes, grant: dict[str, Any], chain: dict[str, Any], evidence: dict[str, Any]) -> dict[str, Any]:
    """Assemble a receipt from the citizen's side (record, salt, signed grant) and the operator's evidence."""
    return {
        "type": RECEIPT_TYPE,
        "record": rec,
        "salt": "0x" + salt.hex(),
        "grant": grant,
        "chain": chain,
        "log": {
            "origin": evidence["log"]["origin"],
            "vkey": evidence["log"]["vkey"],
            "index": evidence["log_index"],
            "entry": evidence["entry"],
            "tlog_proof": evidence["tlog_proof"],
        },
        "anchor": evidence["anchor"],
    }


@cache
def _schema() -> jsonschema.protocols.Validator:
    """ledger/schemas/consent-receipt.schema.json, resolving its $ref to the record schema."""
    schemas = resources.files("ledger").joinpath("schemas")
    receipt_schema, record_schema = (json.loads(schemas.joinpath(f"consent-{n}.schema.json").read_text()) for n in ("receipt", "record"))
    known = referencing.Registry().with_resource(record_schema["$id"], referencing.Resource.from_contents(record_schema))
    return jsonschema.Draft202012Validator(receipt_schema, registry=known)


def check_format(receipt: Any) -> None:
    """ReceiptError naming the first field that breaks the receipt's JSON Schema: check
    `record` for the record's own fields (named as in the record), `authorization` for the
    citizen's authorization, else `format`."""
    error = first_error(_schema(), receipt)
    if error is not None:
        where, problem = error
        if where.startswith("record."):
            raise ReceiptError("record", f"{where.removeprefix('record.')}: {problem}")
        raise ReceiptError("authorization" if where.startswith("grant.authorization") else "format", f"{where}: {problem}")


def _b(hex_str: str) -> bytes:
    """The bytes of a 0x-prefixed hex value (the receipt's schema checked its form)."""
    return bytes.fromhex(hex_str[2:])


def _expect(ok: bool, check: str, detail: str) -> None:
    if not ok:
        raise ReceiptError(check, detail)


def _tx_receipt(w3: Web3, tx: str, check: str) -> Any:
    """The chain's receipt of transaction `tx`; a transaction the node does not know is the
    failure of `check`, not an RPC error."""
    try:
        return w3.eth.get_transaction_receipt(HexStr(tx))
    except (TransactionNotFound, ValueError) as exc:
        raise ReceiptError(check, f"the chain has no transaction {tx} ({type(exc).__name__})") from None


def verify(
    receipt: dict[str, Any], registry_for: RegistryFor, vkey: str | None = None, citizen: str | None = None, witnesses: WitnessPolicy | None = None
) -> ReceiptReport:
    """Verify every part of a receipt; `registry_for(chain_id, contract)` returns a Registry.
    With `citizen` (the citizen id the verifier knows), the consent's key must be authorized
    by that citizen: a consent the operator made up for them fails `authorization`. With
    `witnesses`, the checkpoint must carry cosignatures of enough of them (`witnesses`)."""
    check_format(receipt)
    try:
        return _verify(receipt, registry_for, vkey, citizen, witnesses)
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, ReceiptError):
            raise
        raise ReceiptError("format", f"malformed receipt ({exc!r})") from None


def _verify(receipt: dict[str, Any], registry_for: RegistryFor, vkey: str | None, citizen: str | None, witnesses: WitnessPolicy | None) -> ReceiptReport:
    rec, grant, chain, log, anchor = (receipt[k] for k in ("record", "grant", "chain", "log", "anchor"))
    checks = []

    try:
        canonical_ok = record.commitment(rec, _b(receipt["salt"]))
    except record.RecordError as exc:  # what a schema cannot say: real dates, expiry after grant
        raise ReceiptError("record", str(exc)) from None
    cid = _b(grant["consent_id"])
    _expect(rec["record_id"] == grant["consent_id"].lower(), "record", "record_id differs from the consent id")
    _expect(canonical_ok == _b(grant["commitment"]), "commitment", "H(salt || record) differs from the commitment")
    _expect(record.expires_at_unix(rec) == grant["expires_at"], "record", "expires_at differs from the signed expiry")
    checks.append("record and salt match the commitment")

    message = eip712.grant_message(cid, _b(grant["commitment"]), grant["expires_at"])
    try:
        signer = eip712.recover(_b(grant["signature"]), "Grant", message, chain["chain_id"], chain["contract"])
    except eip712.SignatureError as exc:
        raise ReceiptError("signature", str(exc)) from None
    _expect(signer == grant["signer"], "signature", f"Grant signature is by {signer}, not {grant['signer']}")
    checks.append("the per-consent key's EIP-712 signature is valid")
    try:
        bound = consent_binding.verify(grant.get("authorization"), grant["consent_id"], signer, grant["commitment"], citizen, rec["controller"]["id"])
    except consent_binding.BindingError as exc:
        raise ReceiptError("authorization", str(exc)) from None
    checks.append(f"{bound} authorized that key for this consent (off chain)")

    reg: Registry = registry_for(chain["chain_id"], chain["contract"])
    w3 = reg.client.w3
    _expect(reg.chain_id == chain["chain_id"], "chain", f"node is chain {reg.chain_id}, receipt is for {chain['chain_id']}")
    tx_receipt = _tx_receipt(w3, chain["tx"], "chain")
    _expect(tx_receipt["status"] == 1 and tx_receipt["blockNumber"] == chain["block"], "chain", "grant transaction failed or is in another block")
    granted = [e["args"] for e in reg.contract.events.ConsentGranted().process_receipt(tx_receipt, errors=DISCARD) if e["address"] == reg.address]
    _expect(
        any(a["consentId"] == cid and a["commitment"] == _b(grant["commitment"]) and a["signer"] == signer for a in granted),
        "chain",
        "grant transaction did not record this consent",
    )
    onchain = reg.consent(cid)
    _expect(onchain.commitment == _b(grant["commitment"]) and onchain.signer == signer, "chain", "registry holds another consent under this id")
    checks.append(f"grant recorded on chain in block {chain['block']}")

    entry = base64.b64decode(log["entry"])
    try:
        ev = events.decode(entry)
    except events.EntryError as exc:
        raise ReceiptError("log entry", str(exc)) from None
    _expect(
        ev["type"] == events.CONSENT_GRANTED
        and ev["consent_id"] == grant["consent_id"].lower()
        and ev["commitment"] == grant["commitment"].lower()
        and ev["tx"] == chain["tx"].lower()
        and ev["block"] == chain["block"]
        and ev["signer"].lower() == signer.lower(),
        "log entry",
        "log entry does not describe this grant",
    )

    pinned = vkey or log["vkey"]
    _expect(pinned == log["vkey"], "checkpoint", "receipt's log key differs from the pinned key")
    try:
        proof = TlogProof.parse(log["tlog_proof"])
        cp = open_checkpoint(proof.checkpoint, Verifier.from_vkey(pinned), log["origin"])
    except (TlogProofError, CheckpointError, NoteError) as exc:
        raise ReceiptError("checkpoint", str(exc)) from None
    _expect(proof.index == log["index"], "inclusion", "proof is for another log index")
    try:
        merkle.verify_inclusion(proof.index, cp.size, merkle.leaf_hash(entry), proof.path, cp.root)
    except merkle.ProofError as exc:
        raise ReceiptError("inclusion", str(exc)) from None
    checks.append(f"log entry {proof.index} is included in the signed checkpoint of size {cp.size}")
    if witnesses is not None:
        try:
            cosigners = witnesses.check(proof.checkpoint)
        except CosignatureError as exc:
            raise ReceiptError("witnesses", str(exc)) from None
        checks.append(f"checkpoint cosigned by {', '.join(cosigners) or 'no witness (none required)'}")

    _expect(cp.size == anchor["size"] and cp.root == _b(anchor["root"]), "anchor", "checkpoint is not the anchored one")
    held = reg.anchor_at(anchor["index"])
    if held is None:
        raise ReceiptError("anchor", f"the registry holds no anchor number {anchor['index']}")
    _expect((held.size, held.root) == (cp.size, cp.root), "anchor", "registry holds another anchor at that index")
    anchor_receipt = _tx_receipt(w3, anchor["tx"], "anchor")
    _expect(anchor_receipt["blockNumber"] == anchor["block"], "anchor", f"anchor transaction is in block {anchor_receipt['blockNumber']}, not {anchor['block']}")
    anchored = reg.contract.events.CheckpointAnchored().process_receipt(anchor_receipt, errors=DISCARD)
    _expect(
        any(a["args"]["size"] == cp.size and a["args"]["root"] == cp.root for a in anchored),
        "anchor",
        "anchor transaction did not anchor this checkpoint",
    )
    checks.append(f"checkpoint anchored on chain in block {anchor_receipt['blockNumber']}")

    head_time = w3.eth.get_block("latest")["timestamp"]
    status = onchain.state(head_time)
    return ReceiptReport(grant["consent_id"].lower(), status, checks)
