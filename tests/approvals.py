"""Approval bodies that differ from a consent request or its commitment in one way each
(shared by the HTTP test of approvals and the unit test of their checks)."""

import copy
from datetime import timedelta

from ledger import citizen, record


def resigned(wallet, info, rec: dict) -> dict:
    """An approval body for an edited record, freshly committed and signed (so only the
    scope check can refuse it)."""
    salt, grant, _ = citizen._sign_grant(wallet, rec, info)
    return {"record": rec, "salt": salt.hex(), "grant": grant, "citizen_enc_key": "11" * 32}


def approval_edits(wallet, info):
    """Each way an approval can differ from what was asked or committed, with the field named."""
    def record_edit(change):
        def make(rec, body):
            rec = copy.deepcopy(rec)
            change(rec)
            return resigned(wallet, info, rec)
        return make

    def body_edit(change):
        def make(rec, body):
            body = copy.deepcopy(body)
            change(body)
            return body
        return make

    longer = lambda r: r.update(expires_at=record.format_time(record.parse_time(r["granted_at"]) + timedelta(days=31)))  # noqa: E731
    return {
        "record.controller.id": record_edit(lambda r: r["controller"].update(id="job-board")),
        "record.data_areas": record_edit(lambda r: r.update(data_areas=[{"area": "skills", "access": "read"}])),
        "record.purposes": record_edit(lambda r: r.update(purposes=["dpv:Marketing"])),
        "record.notice.sha256": record_edit(lambda r: r["notice"].update(sha256="00" * 32)),
        "record.expires_at": record_edit(longer),
        "record.subject": body_edit(lambda b: b["record"].pop("subject")),
        "grant.commitment": body_edit(lambda b: b.update(salt="22" * 32)),
        "grant.expires_at": body_edit(lambda b: b["grant"].update(expires_at=b["grant"]["expires_at"] - 1)),
        "grant.signature": body_edit(lambda b: b["grant"].update(signature="0x1234")),
        "grant": body_edit(lambda b: b.update(grant="0x00")),
    }
