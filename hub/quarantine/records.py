"""Quarantine entries from a verdict, and the Kafka Connect-style dead-letter record and headers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from hub.gatekeeper.verdict import Verdict

__all__ = [
    "EXCEPTION_CLASS",
    "QUARANTINE_SUBJECT",
    "REASON_HEADER",
    "QuarantineEntry",
    "dead_letter_headers",
    "entries_for",
    "group_by_reason",
    "quarantine_record",
]

QUARANTINE_SUBJECT: Final = "mx.gob.sisi.hub.QuarantineRecord"
REASON_HEADER: Final = "sisi-reason-code"
#: What ``__connect.errors.exception.class.name`` says for a gatekeeper refusal.
EXCEPTION_CLASS: Final = "hub.gatekeeper.Rejection"


@dataclass(frozen=True, slots=True)
class QuarantineEntry:
    """Why something was quarantined: an item (``reference_id``) or the whole change set (None)."""

    reference_id: str | None
    reason_code: str
    message: str
    field: str | None = None


def entries_for(verdict: Verdict) -> list[QuarantineEntry]:
    """The quarantine entries of a verdict: one for a refused set, one per refused item."""
    if verdict.refusal is not None:
        refusal = verdict.refusal
        return [QuarantineEntry(None, refusal.code, refusal.message, refusal.field)]
    return [
        QuarantineEntry(item.reference_id, item.code, item.message, item.field)
        for item in verdict.rejected
    ]


def group_by_reason(entries: Sequence[QuarantineEntry]) -> list[QuarantineEntry]:
    """One entry per reason: what is published (the original bytes once per reason)."""
    groups: dict[str, list[QuarantineEntry]] = {}
    for entry in entries:
        groups.setdefault(entry.reason_code, []).append(entry)
    result: list[QuarantineEntry] = []
    for code, members in groups.items():
        if len(members) == 1:
            result.append(members[0])
            continue
        fields = {m.field for m in members}
        refs = ", ".join(str(m.reference_id) for m in members[:20])
        more = f" y {len(members) - 20} más" if len(members) > 20 else ""
        message = f"{len(members)} elementos ({refs}{more}): {members[0].message}"
        field = fields.pop() if len(fields) == 1 else None
        result.append(QuarantineEntry(None, code, message, field))
    return result


def dead_letter_headers(
    original: Sequence[tuple[str, bytes | None]],
    topic: str,
    partition: int,
    offset: int,
    entry: QuarantineEntry,
) -> list[tuple[str, bytes]]:
    """The original headers followed by Kafka Connect's ``__connect.errors.*`` and the reason."""
    headers = [(name, value) for name, value in original if value is not None]
    headers += [
        ("__connect.errors.topic", topic.encode()),
        ("__connect.errors.partition", str(partition).encode()),
        ("__connect.errors.offset", str(offset).encode()),
        ("__connect.errors.exception.class.name", EXCEPTION_CLASS.encode()),
        ("__connect.errors.exception.message", entry.message.encode()),
        (REASON_HEADER, entry.reason_code.encode()),
    ]
    return headers


def quarantine_record(
    value: bytes,
    headers: Sequence[tuple[str, bytes | None]],
    topic: str,
    partition: int,
    offset: int,
    entry: QuarantineEntry,
    agreement_id: str | None,
    received_at: dt.datetime,
) -> dict[str, Any]:
    """The ``QuarantineRecord`` (original bytes and headers intact)."""
    return {
        "value": value,
        "headers": [{"key": name, "value": raw} for name, raw in headers],
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "reason_code": entry.reason_code,
        "message": entry.message,
        "field": entry.field,
        "reference_id": entry.reference_id,
        "agreement_id": agreement_id,
        "received_at": received_at,
    }
