"""Receipts: the hub's answer to each change set (``mx.gob.sisi.hub.Receipt``) from a verdict."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Final

from hub.gatekeeper.verdict import Verdict

__all__ = ["RECEIPT_SUBJECT", "build_receipt", "receipt_id", "receipt_status"]

RECEIPT_SUBJECT: Final = "mx.gob.sisi.hub.Receipt"
_NAMESPACE = uuid.UUID("6f1f3c1e-5a2b-4b7e-9a53-0c4d2f0e8b11")


def receipt_id(agreement_id: str, message_id: str) -> str:
    """A stable receipt id: the same change set always gets the same one."""
    return str(uuid.uuid5(_NAMESPACE, f"{agreement_id}|{message_id}"))


def receipt_status(verdict: Verdict) -> str:
    """ACCEPTED, PARTIAL or REJECTED."""
    if verdict.refusal is not None or not verdict.accepted:
        return "REJECTED"
    return "PARTIAL" if verdict.rejected else "ACCEPTED"


def build_receipt(verdict: Verdict, *, issued_at: dt.datetime) -> dict[str, Any]:
    """The Receipt record for ``verdict`` (its agreement must be known)."""
    agreement_id = verdict.agreement.id if verdict.agreement else verdict.agreement_id or ""
    refused = verdict.refusal is not None
    return {
        "receipt_id": receipt_id(agreement_id, verdict.message_id),
        "agreement_id": agreement_id,
        "message_id": verdict.message_id,
        "transaction_id": verdict.transaction_id,
        "issued_at": issued_at,
        "status": receipt_status(verdict),
        "accepted_count": 0 if refused else len(verdict.accepted),
        "rejected_count": verdict.item_count if refused else len(verdict.rejected),
        "reason_code": verdict.refusal.code if verdict.refusal else None,
        "rejected": [
            {
                "reference_id": item.reference_id,
                "reason_code": item.code,
                "field": item.field,
                "message": item.message,
            }
            for item in verdict.rejected
        ],
    }
