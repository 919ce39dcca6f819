"""The audit chain in its published forms: Avro ``AuditRecord`` entries and ``AuditChainHead``.

Timestamps go out as UTC datetimes (``timestamp-millis``); the chain hashes them at millisecond
precision, so an entry read back from a topic still verifies. ``AuditRecord`` v2 makes
``signature`` optional (only each batch's last entry is signed); v1 readers cannot take an
unsigned entry, so entries are published with v2.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from hub.audit.chain import AuditEntry, ChainHead

__all__ = [
    "AUDIT_RECORD_SUBJECT",
    "AUDIT_RECORD_VERSION",
    "CHAIN_HEAD_SUBJECT",
    "entry_from_record",
    "entry_to_record",
    "head_to_record",
]

AUDIT_RECORD_SUBJECT = "mx.gob.sisi.hub.AuditRecord"
#: The ``AuditRecord`` version entries are published with (the first with an optional signature).
AUDIT_RECORD_VERSION = 2
CHAIN_HEAD_SUBJECT = "mx.gob.sisi.publico.AuditChainHead"


def entry_to_record(entry: AuditEntry) -> dict[str, Any]:
    """An entry as an ``AuditRecord`` (v2) value (``signature`` None unless a batch head)."""
    return {
        "sequence": entry.sequence,
        "recorded_at": entry.recorded_at,
        "actor": entry.actor,
        "action": entry.action,
        "agreement_id": entry.agreement_id,
        "message_id": entry.message_id,
        "reference_id": entry.reference_id,
        "purpose": entry.purpose,
        "details": dict(entry.details),
        "prev_hash": entry.prev_hash,
        "entry_hash": entry.entry_hash,
        "signature": entry.signature,
    }


def entry_from_record(record: Mapping[str, Any]) -> AuditEntry:
    """An ``AuditRecord`` value (v1 or v2) back into an entry, to verify a log read from a topic."""
    return AuditEntry(
        sequence=int(record["sequence"]),
        recorded_at=record["recorded_at"],
        actor=record["actor"],
        action=record["action"],
        agreement_id=record.get("agreement_id"),
        message_id=record.get("message_id"),
        reference_id=record.get("reference_id"),
        purpose=record.get("purpose"),
        details=dict(record.get("details") or {}),
        prev_hash=bytes(record["prev_hash"]),
        entry_hash=bytes(record["entry_hash"]),
        signature=None if (signature := record.get("signature")) is None else bytes(signature),
    )


def head_to_record(
    head: ChainHead, key_id: str, published_at: datetime | None = None
) -> dict[str, Any]:
    """The head as an ``AuditChainHead`` (v1) value; refuses an empty log (nothing to publish)."""
    if head.is_empty or head.at is None:
        raise ValueError("la bitácora está vacía: no hay cabeza que publicar")
    return {
        "sequence": head.sequence,
        "entry_hash": head.entry_hash,
        "signature": head.signature,
        "key_id": key_id,
        "recorded_at": head.at,
        "published_at": published_at or datetime.now(UTC),
    }
