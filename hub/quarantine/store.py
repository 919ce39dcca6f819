"""Quarantine in the database: record refused messages, list and show them, mark replays.

An entry's *state* says what it needs, from the stored replay claim and the ledger's claim of the
set's identity (no column of its own: nothing to migrate, and it is never stale):

``PENDIENTE``
    needs an operator: a set refused as a whole without a receipt (signature that did not
    verify, agreement unknown or given de baja, wrong topic...) that nobody replayed and whose
    identity no later copy claimed.
``REENVIADO``
    replayed (``sisi quarantine replay``) and no copy of the set answered yet: the hub has not
    processed the replay, or refused it again without a receipt as a new entry (``show`` says
    which).
``INFORMADO``
    the agency got a receipt naming the refusal (a refused item, or a set refused with a
    receipt): the next step is the agency's (it corrects and delivers again).
``RESUELTO``
    nothing left to do: the set was processed later (a replay or the agency's resend was
    accepted), or the entry is a ``MENSAJE_REPETIDO`` of a set processed at another position.

The stored ``status`` column keeps only the replay claim (``PENDIENTE`` / ``REENVIADO``), which
is what makes two replays of one set publish once.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, Select, case, func, select, update
from sqlalchemy.engine import Engine

from hub.errors import SisiError
from hub.gatekeeper.ledger import processed_messages
from hub.quarantine.records import REPLAY_HEADER, QuarantineEntry
from hub.quarantine.tables import quarantine_entries, quarantine_messages

__all__ = [
    "STATES",
    "QuarantineNotFoundError",
    "QuarantinedItem",
    "came_back",
    "claim_replay",
    "count_by_reason",
    "count_items",
    "decode_headers",
    "encode_headers",
    "get_item",
    "insert",
    "items_at",
    "list_items",
    "mark_replayed",
    "reclaim_replay",
    "release_replay",
    "replayed_copies",
]


#: The states of an entry, in the order an operator reads them (see the module docstring).
STATES: Final = ("PENDIENTE", "REENVIADO", "INFORMADO", "RESUELTO")
#: Outcomes of a ledger row that claims a set's identity and answered its agency.
_ANSWERED: Final = ("ACCEPTED", "PARTIAL", "REJECTED")
_REPEATED: Final = "MENSAJE_REPETIDO"


class QuarantineNotFoundError(SisiError):
    """No quarantine entry has that id (exit 2: the input names nothing, as an unknown CURP or
    agreement id does elsewhere in the CLI)."""

    exit_code = 2


@dataclass(frozen=True)
class QuarantinedItem:
    """A quarantine entry with its message (the original bytes only when asked for)."""

    id: int
    message_row: int
    agreement_id: str | None
    message_id: str
    reference_id: str | None
    reason_code: str
    field: str | None
    message: str
    topic: str
    partition: int
    offset: int
    received_at: dt.datetime
    status: str
    replayed_at: dt.datetime | None
    replayed_by: str | None
    value: bytes | None = None
    headers: tuple[tuple[str, bytes | None], ...] = ()
    #: The receipt status the agency got for this change set (by whichever copy claimed its
    #: identity: the set itself, a replay, the agency's own resend); None: no receipt yet.
    answered: str | None = None
    #: What the entry needs (one of :data:`STATES`); ``status`` is the stored replay claim.
    state: str = "PENDIENTE"


def encode_headers(headers: Sequence[tuple[str, bytes | None]]) -> str:
    """Kafka headers as JSON text (values base64; None kept)."""
    return json.dumps(
        [[name, None if raw is None else base64.b64encode(raw).decode()] for name, raw in headers]
    )


def decode_headers(text: str) -> tuple[tuple[str, bytes | None], ...]:
    """The inverse of :func:`encode_headers`."""
    return tuple(
        (str(name), None if raw is None else base64.b64decode(raw))
        for name, raw in json.loads(text)
    )


def insert(
    conn: Connection,
    *,
    topic: str,
    partition: int,
    offset: int,
    agreement_id: str | None,
    message_id: str,
    value: bytes,
    headers: Sequence[tuple[str, bytes | None]],
    received_at: dt.datetime,
    entries: Sequence[QuarantineEntry],
) -> int:
    """Quarantine one message and its entries (inside the caller's transaction)."""
    result = conn.execute(
        quarantine_messages.insert().values(
            topic=topic,
            kafka_partition=partition,
            kafka_offset=offset,
            agreement_id=agreement_id,
            message_id=message_id,
            value=value,
            headers=encode_headers(headers),
            received_at=received_at,
            status="PENDIENTE",
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    row_id = int(key[0])
    conn.execute(
        quarantine_entries.insert(),
        [
            {
                "quarantine_message_id": row_id,
                "agreement_id": agreement_id,
                "reference_id": e.reference_id,
                "reason_code": e.reason_code,
                "field": e.field,
                "message": e.message,
            }
            for e in entries
        ],
    )
    return row_id


def _state() -> Any:
    """The entry's state (:data:`STATES`) as SQL over the entry, its message and the claim of
    the set's identity (``processed_messages`` outer-joined as in :func:`_query`)."""
    e, m, p = quarantine_entries.c, quarantine_messages.c, processed_messages.c
    return case(
        (e.reason_code == _REPEATED, "RESUELTO"),
        (e.reference_id.is_(None) & p.outcome.in_(("ACCEPTED", "PARTIAL")), "RESUELTO"),
        (p.outcome.in_(_ANSWERED), "INFORMADO"),
        (m.status == "REENVIADO", "REENVIADO"),
        else_="PENDIENTE",
    )


def _claim() -> Any:
    """The ledger row that claimed the identity of the entry's set (agreement, message id)."""
    m, p = quarantine_messages.c, processed_messages.c
    return (p.agreement_id == m.agreement_id) & (p.message_id == m.message_id)


def _query(with_value: bool):  # type: ignore[no-untyped-def]
    e, m = quarantine_entries.c, quarantine_messages.c
    columns = [
        e.id,
        m.id.label("message_row"),
        e.agreement_id,
        m.message_id,
        e.reference_id,
        e.reason_code,
        e.field,
        e.message,
        m.topic,
        m.kafka_partition,
        m.kafka_offset,
        m.received_at,
        m.status,
        m.replayed_at,
        m.replayed_by,
    ]
    p = processed_messages.c
    columns += [p.outcome.label("answered"), _state().label("state")]
    if with_value:
        columns += [m.value, m.headers]
    return (
        select(*columns)
        .join(quarantine_messages, m.id == e.quarantine_message_id)
        .outerjoin(processed_messages, _claim())
    )


def _item(row: object, with_value: bool) -> QuarantinedItem:
    r = row._mapping  # type: ignore[attr-defined]
    return QuarantinedItem(
        id=int(r["id"]),
        message_row=int(r["message_row"]),
        agreement_id=r["agreement_id"],
        message_id=r["message_id"],
        reference_id=r["reference_id"],
        reason_code=r["reason_code"],
        field=r["field"],
        message=r["message"],
        topic=r["topic"],
        partition=int(r["kafka_partition"]),
        offset=int(r["kafka_offset"]),
        received_at=r["received_at"],
        status=r["status"],
        replayed_at=r["replayed_at"],
        replayed_by=r["replayed_by"],
        value=bytes(r["value"]) if with_value else None,
        headers=decode_headers(r["headers"]) if with_value else (),
        answered=_answered(r["answered"]),
        state=str(r["state"]),
    )


def _answered(outcome: str | None) -> str | None:
    """The agency's receipt status for the set; a REPLAY row never claims (kept for safety)."""
    return outcome if outcome in {"ACCEPTED", "PARTIAL", "REJECTED"} else None


def _filtered(
    query: Select[Any],
    agreement_id: str | None,
    reason_code: str | None,
    status: str | None,
    message_id: str | None,
) -> Select[Any]:
    e, m = quarantine_entries.c, quarantine_messages.c
    if agreement_id is not None:
        query = query.where(e.agreement_id == agreement_id)
    if reason_code is not None:
        query = query.where(e.reason_code == reason_code)
    if status is not None:  # the state (what the entry needs), not the stored replay claim
        query = query.where(_state() == status)
    if message_id is not None:
        query = query.where(m.message_id == message_id)
    return query


def list_items(
    engine: Engine,
    *,
    agreement_id: str | None = None,
    reason_code: str | None = None,
    status: str | None = None,
    message_id: str | None = None,
    before: int | None = None,
    limit: int = 100,
) -> list[QuarantinedItem]:
    """Quarantine entries, newest first, optionally filtered; ``before``: only entries with a
    smaller id (the next page after one whose last entry had that id)."""
    query = _filtered(_query(False), agreement_id, reason_code, status, message_id)
    if before is not None:
        query = query.where(quarantine_entries.c.id < before)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(quarantine_entries.c.id.desc()).limit(limit)).all()
    return [_item(row, False) for row in rows]


def count_items(
    engine: Engine,
    *,
    agreement_id: str | None = None,
    reason_code: str | None = None,
    status: str | None = None,
    message_id: str | None = None,
) -> int:
    """How many entries :func:`list_items` would give with these filters and no limit."""
    e, m = quarantine_entries.c, quarantine_messages.c
    query = select(func.count()).select_from(
        quarantine_entries.join(quarantine_messages, m.id == e.quarantine_message_id).outerjoin(
            processed_messages, _claim()
        )
    )
    query = _filtered(query, agreement_id, reason_code, status, message_id)
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def get_item(engine: Engine, entry_id: int) -> QuarantinedItem:
    """One entry with its original bytes and headers."""
    with engine.connect() as conn:
        row = conn.execute(_query(True).where(quarantine_entries.c.id == entry_id)).first()
    if row is None:
        raise QuarantineNotFoundError(
            f"no hay una entrada de cuarentena con id {entry_id}",
            hint="consulte los ids con 'sisi quarantine list'",
        )
    return _item(row, True)


def items_at(
    conn: Connection, topic: str, partition: int, offset: int, message_id: str
) -> list[QuarantinedItem]:
    """The entries (with original bytes) quarantined for this message at this position."""
    m = quarantine_messages.c
    query = _query(True).where(
        m.topic == topic,
        m.kafka_partition == partition,
        m.kafka_offset == offset,
        m.message_id == message_id,
    )
    return [_item(row, True) for row in conn.execute(query.order_by(quarantine_entries.c.id))]


def _copies(message_row: int) -> Any:
    """The quarantined copies of the message at ``message_row``: the same agreement, message id
    and value bytes (the agency's outbox sent it again; re-signed copies differ only in their
    headers). The row itself included."""
    m = quarantine_messages.c
    original = quarantine_messages.alias("original")

    def of_original(column: str) -> Any:
        return select(original.c[column]).where(original.c.id == message_row).scalar_subquery()

    return (m.id == message_row) | (
        (m.agreement_id == of_original("agreement_id"))
        & (m.message_id == of_original("message_id"))
        & (m.value == of_original("value"))
    )


def claim_replay(conn: Connection, message_row: int, actor: str, at: dt.datetime) -> bool:
    """Mark a quarantined message, and every pending copy of it, as replayed in the caller's
    transaction; False when it already was (another operator claimed it, or one of its copies,
    first: only one replay publishes).

    One statement: concurrent claims of two copies serialize on the rows they both update, and
    the second finds none PENDIENTE.
    """
    m = quarantine_messages.c
    claimed = conn.execute(
        update(quarantine_messages)
        .where(m.status == "PENDIENTE", _copies(message_row))
        .values(status="REENVIADO", replayed_at=at, replayed_by=actor)
        .returning(m.id)
    ).scalars()
    return message_row in set(claimed)


def replayed_copies(conn: Connection, message_row: int) -> list[QuarantinedItem]:
    """The other copies of this message already REENVIADO (their replay may be on its way)."""
    m = quarantine_messages.c
    query = _query(False).where(_copies(message_row), m.id != message_row, m.status == "REENVIADO")
    return [_item(row, False) for row in conn.execute(query.order_by(m.id))]


def came_back(conn: Connection, item: QuarantinedItem) -> list[QuarantinedItem]:
    """The entries that replays of this set became when the hub refused them again, oldest
    first: the quarantined copies whose ``sisi-replay-of`` header names an entry of a copy of
    ``item``'s message (this one's replay, or one of a copy replayed with it or after it).

    A replay publishes the same value bytes, so what came back is among the copies; the header
    tells it from a copy the agency's outbox sent again.
    """
    e, m = quarantine_entries.c, quarantine_messages.c
    copies = select(m.id).where(_copies(item.message_row))
    named = {
        str(i)
        for i in conn.execute(select(e.id).where(e.quarantine_message_id.in_(copies))).scalars()
    }
    candidates = conn.execute(
        select(m.id, m.headers).where(
            _copies(item.message_row),
            m.id != item.message_row,
            m.headers.contains(json.dumps(REPLAY_HEADER)),
        )
    ).all()
    rows = [
        row.id
        for row in candidates
        if any(
            name == REPLAY_HEADER and raw is not None and raw.decode("ascii", "replace") in named
            for name, raw in decode_headers(row.headers)
        )
    ]
    if not rows:
        return []
    query = _query(False).where(m.id.in_(rows)).order_by(e.id)
    return [_item(row, False) for row in conn.execute(query)]


def reclaim_replay(
    conn: Connection,
    message_row: int,
    previous: dt.datetime | None,
    actor: str,
    at: dt.datetime,
) -> bool:
    """Claim again a message already REENVIADO whose publication the hub never processed (the
    broker lost it): only the operator who still sees the claim made at ``previous`` wins."""
    m = quarantine_messages.c
    result = conn.execute(
        update(quarantine_messages)
        .where(m.id == message_row, m.status == "REENVIADO", m.replayed_at == previous)
        .values(replayed_at=at, replayed_by=actor)
    )
    return bool(result.rowcount)


def release_replay(conn: Connection, message_row: int, actor: str, at: dt.datetime) -> bool:
    """Undo :func:`claim_replay` (its publication failed): PENDIENTE again, the copies it
    marked too; False when the row is not the claim made by ``actor`` at ``at``."""
    m = quarantine_messages.c
    released = conn.execute(
        update(quarantine_messages)
        .where(
            _copies(message_row),
            m.status == "REENVIADO",
            m.replayed_by == actor,
            m.replayed_at == at,
        )
        .values(status="PENDIENTE", replayed_at=None, replayed_by=None)
        .returning(m.id)
    ).scalars()
    return message_row in set(released)


def mark_replayed(engine: Engine, message_row: int, actor: str, at: dt.datetime) -> bool:
    """Mark a quarantined message as replayed in a transaction of its own; False when it
    already was."""
    with engine.begin() as conn:
        return claim_replay(conn, message_row, actor, at)


def count_by_reason(engine: Engine) -> dict[str, int]:
    """Quarantine entries per reason code."""
    e = quarantine_entries.c
    with engine.connect() as conn:
        rows = conn.execute(select(e.reason_code, func.count()).group_by(e.reason_code)).all()
    return {str(code): int(n) for code, n in rows}
