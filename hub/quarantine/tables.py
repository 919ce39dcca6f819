"""Quarantine tables: the original message once, and one entry per refused item or change set."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from hub.db import Base
from hub.gatekeeper.ledger import SURROGATE_KEY, position_columns

__all__ = ["quarantine_entries", "quarantine_messages"]

#: A quarantined Kafka message: exact value and headers (JSON), where it was read, its status.
quarantine_messages = Table(
    "quarantine_messages",
    Base.metadata,
    *position_columns(),
    Column("agreement_id", String(255)),
    Column("message_id", String(255), nullable=False),
    Column("value", LargeBinary, nullable=False),
    Column("headers", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False, server_default="PENDIENTE"),
    Column("replayed_at", DateTime(timezone=True)),
    Column("replayed_by", String(255)),
    UniqueConstraint("topic", "kafka_partition", "kafka_offset", "message_id"),
)

#: Why: one row per refused item (``reference_id``) or one for a refused change set (NULL).
quarantine_entries = Table(
    "quarantine_entries",
    Base.metadata,
    Column("id", SURROGATE_KEY, primary_key=True, autoincrement=True),
    Column(
        "quarantine_message_id",
        SURROGATE_KEY,
        ForeignKey("quarantine_messages.id"),
        nullable=False,
    ),
    Column("agreement_id", String(255)),
    Column("reference_id", String(255)),
    Column("reason_code", String(64), nullable=False),
    Column("field", String(64)),
    Column("message", Text, nullable=False),
    Index("ix_quarantine_entries_agreement_id", "agreement_id", "reason_code"),
    Index("ix_quarantine_entries_quarantine_message_id", "quarantine_message_id"),
)
