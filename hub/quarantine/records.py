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
    "REFERENCE_HEADER",
    "REPLAY_HEADER",
    "QuarantineEntry",
    "dead_letter_headers",
    "entries_for",
    "group_by_reason",
    "quarantine_record",
]

QUARANTINE_SUBJECT: Final = "mx.gob.sisi.hub.QuarantineRecord"
REASON_HEADER: Final = "sisi-reason-code"
#: The refused item's reference, when the record is about one item (absent for a whole set).
REFERENCE_HEADER: Final = "sisi-reference-id"
#: Added to a replayed message (the quarantine entry it comes from): the value and every other
#: header stay as they were read (the signature covers the value only), and a replay that comes
#: back to quarantine is told from a copy the agency sent.
REPLAY_HEADER: Final = "sisi-replay-of"
#: What ``__connect.errors.exception.class.name`` says for a gatekeeper refusal.
EXCEPTION_CLASS: Final = "hub.gatekeeper.Rejection"
#: ``__connect.errors.connector.name``: who wrote the dead letter (Connect names its connector).
CONNECTOR_NAME: Final = "sisi-hub"
#: Connect's stage for a value its converter could not read, and for a record its sink refused.
_STAGE_CONVERTER: Final = "VALUE_CONVERTER"
_STAGE_PUT: Final = "TASK_PUT"
#: ``__connect.errors.class.name``: the class that refused, by reason code (else the gatekeeper).
_EXECUTING_CLASS: Final = {
    "REGISTRO_RECHAZADO": "hub.registry.writer.RegistryWriter",
    "MENSAJE_REPETIDO": "hub.worker.pipeline.HubPipeline",
}
_GATEKEEPER_CLASS: Final = "hub.gatekeeper.inspector.Gatekeeper"


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
    """The original headers followed by Kafka Connect's ``__connect.errors.*`` and the reason.

    The names and meanings of Connect's ``DeadLetterQueueReporter`` (values UTF-8 text, numbers
    in decimal as Connect writes them): where the record was read, who refused it and at which
    stage (``VALUE_CONVERTER`` when the value could not be read, else ``TASK_PUT``), and the
    refusal as exception class and message. Connect's ``task.id`` and ``exception.stacktrace``
    are left out: the hub has no task numbers, and a refusal is a verdict, not a stack trace.
    Earlier ``__connect.errors.*`` headers (a record that was itself a dead letter) are dropped,
    as Connect replaces them, so each name appears once. Then ``sisi-reason-code`` and, for
    one item, ``sisi-reference-id``.
    """
    headers = [
        (name, value)
        for name, value in original
        if value is not None and not name.startswith("__connect.errors.")
    ]
    stage = _STAGE_CONVERTER if entry.reason_code == "MENSAJE_ILEGIBLE" else _STAGE_PUT
    executing = _EXECUTING_CLASS.get(entry.reason_code, _GATEKEEPER_CLASS)
    headers += [
        ("__connect.errors.topic", topic.encode()),
        ("__connect.errors.partition", str(partition).encode()),
        ("__connect.errors.offset", str(offset).encode()),
        ("__connect.errors.connector.name", CONNECTOR_NAME.encode()),
        ("__connect.errors.stage", stage.encode()),
        ("__connect.errors.class.name", executing.encode()),
        ("__connect.errors.exception.class.name", EXCEPTION_CLASS.encode()),
        ("__connect.errors.exception.message", entry.message.encode()),
        (REASON_HEADER, entry.reason_code.encode()),
    ]
    if entry.reference_id is not None:
        headers.append((REFERENCE_HEADER, entry.reference_id.encode()))
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
