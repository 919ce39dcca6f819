"""The audit chain in its published forms: Avro ``AuditRecord`` entries and ``AuditChainHead``.

Timestamps go out as UTC datetimes (``timestamp-millis``); the chain hashes them at millisecond
precision, so an entry read back from a topic still verifies. ``AuditRecord`` v2 makes
``signature`` optional (only each batch's last entry is signed); v1 readers cannot take an
unsigned entry, so entries are published with v2.

``AuditChainHead`` v2 adds ``head_signature`` (``hub.audit.headsig``): the hub's signature over
the head's sequence, hash, time and key id. ``signature`` stays what it was in v1 (the batch
signature, over ``entry_hash`` only) so that v1 readers still check it; a head without
``head_signature`` is of the old form and proves its sequence only through the log.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from hub.audit.chain import AuditEntry, ChainHead
from hub.contracts.wire import SchemaResolver, decode
from hub.errors import SisiError
from hub.topic_read import read_to_end

__all__ = [
    "AUDIT_RECORD_SUBJECT",
    "AUDIT_RECORD_VERSION",
    "CHAIN_HEAD_SUBJECT",
    "entry_from_record",
    "entry_to_record",
    "head_from_record",
    "head_to_record",
    "read_published_head",
    "read_published_heads",
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
    head: ChainHead, key_id: str | None = None, published_at: datetime | None = None
) -> dict[str, Any]:
    """The head as an ``AuditChainHead`` (v2) value; refuses an empty log (nothing to publish).

    ``key_id`` is the signer's id for a head of the old form (no ``head_signature``); a signed
    head names its own (``head.key_id``) and a different ``key_id`` is refused.
    """
    if head.is_empty or head.at is None:
        raise ValueError("la bitácora está vacía: no hay cabeza que publicar")
    if head.head_signature is not None and key_id not in (None, head.key_id):
        raise ValueError(f"the head is signed by key {head.key_id}, not {key_id}")
    signer = head.key_id if head.head_signature is not None else key_id
    if signer is None:
        raise ValueError("a head of the old form needs the key_id of its signer")
    return {
        "sequence": head.sequence,
        "entry_hash": head.entry_hash,
        "signature": head.signature,
        "key_id": signer,
        "recorded_at": head.at,
        "published_at": published_at or datetime.now(UTC),
        "head_signature": head.head_signature,
    }


def head_from_record(record: Mapping[str, Any]) -> ChainHead:
    """An ``AuditChainHead`` value (v1 or v2) back into a head, to check a log against it."""
    head_signature = record.get("head_signature")
    return ChainHead(
        sequence=int(record["sequence"]),
        entry_hash=bytes(record["entry_hash"]),
        signature=bytes(record["signature"]),
        at=record.get("recorded_at"),
        head_signature=None if head_signature is None else bytes(head_signature),
        key_id=record.get("key_id"),
    )


def _decoded(value: bytes, resolvers: Sequence[SchemaResolver]) -> dict[str, Any] | None:
    """``value`` read with the first resolver that reads it whole as a head, or None."""
    for resolver in resolvers:
        try:
            record: dict[str, Any] = decode(value, resolver)
            head_from_record(record)
        except (SisiError, KeyError, TypeError, ValueError):
            continue
        return record
    return None


#: How many of the last records of each partition :func:`read_published_head` looks at.
_LAST_RECORDS = 64


def read_published_head(
    bootstrap_servers: str,
    topic: str,
    resolver: SchemaResolver | Sequence[SchemaResolver],
    *,
    timeout: float = 10.0,
) -> dict[str, Any] | None:
    """The published ``AuditChainHead`` with the highest sequence among the topic's last records.

    None when the topic has no record (or does not exist). Several workers publish heads, so the
    last record is not always the newest head: the highest sequence wins. Records that do not
    decode are skipped. Raises ``SisiError`` when the broker does not answer within ``timeout``.
    """
    records = _read_heads(bootstrap_servers, topic, resolver, timeout=timeout, last=_LAST_RECORDS)
    return max(records, key=lambda record: int(record["sequence"]), default=None)


def read_published_heads(
    bootstrap_servers: str,
    topic: str,
    resolver: SchemaResolver | Sequence[SchemaResolver],
    *,
    timeout: float = 120.0,
) -> list[dict[str, Any]]:
    """Every ``AuditChainHead`` the topic still holds, in the order read (per partition, by
    offset). Records that do not decode are skipped. Raises ``SisiError`` when the broker does
    not answer, or the topic is not read to its end, within ``timeout``.

    The topic is not compacted: it holds every head its retention keeps (a worker publishes one a
    minute, so a week is some 10 000 records per worker); reading them is bounded by ``timeout``.
    Checking a log against all of them, not just the newest, is what catches a log that was cut
    and re-headed in the database and then grew again: the hub's later heads describe the new
    chain, but the earlier ones still describe the old one.
    """
    return _read_heads(bootstrap_servers, topic, resolver, timeout=timeout, last=None)


def _read_heads(
    bootstrap_servers: str,
    topic: str,
    resolver: SchemaResolver | Sequence[SchemaResolver],
    *,
    timeout: float,
    last: int | None,
) -> list[dict[str, Any]]:
    """The decodable heads among the ``last`` records of each partition (all when None).

    ``resolver``: one, or several tried in order (a checker without the hub's registry tries
    each local version of the contract: a body only reads whole with the schema it was written
    with).
    """
    resolvers = list(resolver) if isinstance(resolver, Sequence) else [resolver]
    records: list[dict[str, Any]] = []
    reading = read_to_end(
        bootstrap_servers, topic, "sisi-audit-verify", timeout=timeout, last=last, missing_ok=True
    )
    for message in reading:
        record = _decoded(message.value(), resolvers)
        if record is not None:
            records.append(record)
    return records
