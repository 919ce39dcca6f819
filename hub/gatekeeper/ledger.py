"""The processed-message ledger: what the hub did with each Kafka message, and its receipt.

One row per message position (topic, partition, offset and the message id header). A message
whose signature verified for a known agreement also *claims* its identity (agreement_id,
message_id): the same identity at another position is a replay. That includes change sets refused
as a whole after their signature verified (agreement not in force, version not allowed...): their
agency got a REJECTED receipt and its producer sends the items again in a new change set, so the
same bytes applied later (a replay from quarantine) would store them twice. Messages refused
before their signature verified claim nothing: nobody was told anything, and the agency's outbox
sends them again under the same identity.

The row is written in the same transaction as the quarantine entries and the compliance counts,
so a message is marked done exactly when its effects are counted; a redelivery finds the row and
re-emits the stored receipt.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Integer,
    LargeBinary,
    String,
    Table,
    UniqueConstraint,
    select,
)

from hub.db import Base

__all__ = [
    "SURROGATE_KEY",
    "LedgerRow",
    "find_claim",
    "find_known",
    "find_position",
    "position_columns",
    "processed_messages",
    "record",
]

#: Type of surrogate keys: BIGINT, but INTEGER on SQLite (only INTEGER PRIMARY KEY autoincrements).
SURROGATE_KEY: Final = BigInteger().with_variant(Integer(), "sqlite")


def position_columns() -> list[Column[Any]]:
    """A surrogate key and where a Kafka message was read: topic, partition and offset."""
    return [
        Column("id", SURROGATE_KEY, primary_key=True, autoincrement=True),
        Column("topic", String(255), nullable=False),
        Column("kafka_partition", Integer, nullable=False),
        Column("kafka_offset", BigInteger, nullable=False),
    ]


processed_messages = Table(
    "processed_messages",
    Base.metadata,
    *position_columns(),
    # the claim: set only for authenticated messages inspected item by item
    Column("agreement_id", String(255)),
    Column("message_id", String(255)),
    Column("header_agreement_id", String(255)),
    Column("header_message_id", String(255), nullable=False),
    Column("transaction_id", String(255)),
    Column("outcome", String(16), nullable=False),
    Column("reason_code", String(64)),
    Column("sent_at", DateTime(timezone=True)),
    Column("processed_at", DateTime(timezone=True), nullable=False),
    Column("receipt_topic", String(255)),
    Column("receipt", LargeBinary),
    UniqueConstraint("topic", "kafka_partition", "kafka_offset", "header_message_id"),
    UniqueConstraint("agreement_id", "message_id"),
)


@dataclass(frozen=True)
class LedgerRow:
    """A processed message as the ledger remembers it."""

    topic: str
    partition: int
    offset: int
    agreement_id: str | None
    message_id: str | None
    header_agreement_id: str | None
    header_message_id: str
    outcome: str
    reason_code: str | None
    receipt_topic: str | None
    receipt: bytes | None


def _row(row: Any) -> LedgerRow:
    return LedgerRow(
        row.topic,
        row.kafka_partition,
        row.kafka_offset,
        row.agreement_id,
        row.message_id,
        row.header_agreement_id,
        row.header_message_id,
        row.outcome,
        row.reason_code,
        row.receipt_topic,
        bytes(row.receipt) if row.receipt is not None else None,
    )


def find_position(
    conn: Connection, topic: str, partition: int, offset: int, header_message_id: str
) -> LedgerRow | None:
    """The ledger row of this message at this position, if it was processed.

    The message id is part of the key because an in-memory broker that restarts hands out the
    same offsets again: a different message at a known position is a new message.
    """
    c = processed_messages.c
    row = conn.execute(
        select(processed_messages).where(
            c.topic == topic,
            c.kafka_partition == partition,
            c.kafka_offset == offset,
            c.header_message_id == header_message_id,
        )
    ).first()
    return _row(row) if row is not None else None


def find_claim(conn: Connection, agreement_id: str, message_id: str) -> LedgerRow | None:
    """The message that claimed (agreement_id, message_id), if any."""
    c = processed_messages.c
    row = conn.execute(
        select(processed_messages).where(c.agreement_id == agreement_id, c.message_id == message_id)
    ).first()
    return _row(row) if row is not None else None


def find_known(
    conn: Connection,
    topic: str,
    partition: int,
    offset: int,
    header_message_id: str,
    agreement_id: str | None,
) -> tuple[LedgerRow | None, LedgerRow | None]:
    """``(row at this position, row that claimed (agreement_id, header_message_id))`` at once.

    One round trip for what :func:`find_position` and :func:`find_claim` answer separately (the
    claim of an authenticated message is keyed by its header's agreement and message id, which
    the gatekeeper checks against the body).
    """
    c = processed_messages.c
    at_position = (
        (c.topic == topic)
        & (c.kafka_partition == partition)
        & (c.kafka_offset == offset)
        & (c.header_message_id == header_message_id)
    )
    condition = at_position
    if agreement_id is not None:
        condition = at_position | (
            (c.agreement_id == agreement_id) & (c.message_id == header_message_id)
        )
    position: LedgerRow | None = None
    claim: LedgerRow | None = None
    for found in conn.execute(select(processed_messages).where(condition)):
        row = _row(found)
        if (row.topic, row.partition, row.offset, row.header_message_id) == (
            topic,
            partition,
            offset,
            header_message_id,
        ):
            position = row
        if row.agreement_id == agreement_id and row.message_id == header_message_id:
            claim = row
    return position, claim


def record(
    conn: Connection,
    row: LedgerRow,
    *,
    transaction_id: str | None,
    sent_at: dt.datetime | None,
    processed_at: dt.datetime,
) -> None:
    """Insert the ledger row (``IntegrityError`` when the position or the claim is taken)."""
    conn.execute(
        processed_messages.insert().values(
            topic=row.topic,
            kafka_partition=row.partition,
            kafka_offset=row.offset,
            agreement_id=row.agreement_id,
            message_id=row.message_id,
            header_agreement_id=row.header_agreement_id,
            header_message_id=row.header_message_id,
            transaction_id=transaction_id,
            outcome=row.outcome,
            reason_code=row.reason_code,
            sent_at=sent_at,
            processed_at=processed_at,
            receipt_topic=row.receipt_topic,
            receipt=row.receipt,
        )
    )
