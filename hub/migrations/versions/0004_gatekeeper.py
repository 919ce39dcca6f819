"""Gatekeeper ledger (processed_messages), quarantine and compliance counters.

Revision ID: 0004
Revises: 0003
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_COUNTERS = (
    "messages",
    "items_received",
    "items_accepted",
    "items_rejected",
    "curp_present",
    "curp_valid",
    "required_expected",
    "required_present",
    "duplicates",
    "replays",
    "replayed_items",
    "late_items",
)


def upgrade() -> None:
    op.create_table(
        "processed_messages",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("topic", sa.String(length=255), nullable=False),
        sa.Column("kafka_partition", sa.Integer(), nullable=False),
        sa.Column("kafka_offset", sa.BigInteger(), nullable=False),
        sa.Column("agreement_id", sa.String(length=255), nullable=True),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("header_agreement_id", sa.String(length=255), nullable=True),
        sa.Column("header_message_id", sa.String(length=255), nullable=False),
        sa.Column("transaction_id", sa.String(length=255), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason_code", sa.String(length=64), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("receipt_topic", sa.String(length=255), nullable=True),
        sa.Column("receipt", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_processed_messages")),
        sa.UniqueConstraint(
            "topic",
            "kafka_partition",
            "kafka_offset",
            "header_message_id",
            name=op.f("uq_processed_messages_topic"),
        ),
        sa.UniqueConstraint(
            "agreement_id", "message_id", name=op.f("uq_processed_messages_agreement_id")
        ),
    )
    op.create_table(
        "quarantine_messages",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("topic", sa.String(length=255), nullable=False),
        sa.Column("kafka_partition", sa.Integer(), nullable=False),
        sa.Column("kafka_offset", sa.BigInteger(), nullable=False),
        sa.Column("agreement_id", sa.String(length=255), nullable=True),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("headers", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="PENDIENTE", nullable=False),
        sa.Column("replayed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("replayed_by", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine_messages")),
        sa.UniqueConstraint(
            "topic",
            "kafka_partition",
            "kafka_offset",
            "message_id",
            name=op.f("uq_quarantine_messages_topic"),
        ),
    )
    op.create_table(
        "quarantine_entries",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("quarantine_message_id", _ID, nullable=False),
        sa.Column("agreement_id", sa.String(length=255), nullable=True),
        sa.Column("reference_id", sa.String(length=255), nullable=True),
        sa.Column("reason_code", sa.String(length=64), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["quarantine_message_id"],
            ["quarantine_messages.id"],
            name=op.f("fk_quarantine_entries_quarantine_message_id_quarantine_messages"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine_entries")),
    )
    op.create_index(
        "ix_quarantine_entries_agreement_id",
        "quarantine_entries",
        ["agreement_id", "reason_code"],
    )
    op.create_index(
        "ix_quarantine_entries_quarantine_message_id",
        "quarantine_entries",
        ["quarantine_message_id"],
    )
    op.create_table(
        "compliance_totals",
        sa.Column("agreement_id", sa.String(length=255), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        *(
            sa.Column(name, sa.BigInteger(), server_default="0", nullable=False)
            for name in _COUNTERS
        ),
        sa.Column("last_lag_seconds", sa.Float(), nullable=True),
        sa.Column("last_delivery_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("agreement_id", "period", name=op.f("pk_compliance_totals")),
    )
    op.create_table(
        "compliance_rejections",
        sa.Column("agreement_id", sa.String(length=255), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("reason_code", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("count", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint(
            "agreement_id", "period", "reason_code", "scope", name=op.f("pk_compliance_rejections")
        ),
    )
    op.create_table(
        "compliance_deliveries",
        sa.Column("agreement_id", sa.String(length=255), nullable=False),
        sa.Column("transaction_id", sa.String(length=255), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "agreement_id", "transaction_id", name=op.f("pk_compliance_deliveries")
        ),
    )


def downgrade() -> None:
    op.drop_table("compliance_deliveries")
    op.drop_table("compliance_rejections")
    op.drop_table("compliance_totals")
    op.drop_index("ix_quarantine_entries_quarantine_message_id", table_name="quarantine_entries")
    op.drop_index("ix_quarantine_entries_agreement_id", table_name="quarantine_entries")
    op.drop_table("quarantine_entries")
    op.drop_table("quarantine_messages")
    op.drop_table("processed_messages")
