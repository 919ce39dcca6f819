"""Schema Registry tables (schemas, subject versions, compatibility config).

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sr_schemas",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("schema_type", sa.String(length=16), nullable=False),
        sa.Column("canonical", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sr_schemas")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_sr_schemas_fingerprint")),
    )
    op.create_table(
        "sr_subject_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("schema_id", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["schema_id"],
            ["sr_schemas.id"],
            name=op.f("fk_sr_subject_versions_schema_id_sr_schemas"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sr_subject_versions")),
        sa.UniqueConstraint("subject", "version", name=op.f("uq_sr_subject_versions_subject")),
    )
    op.create_index(
        op.f("ix_sr_subject_versions_subject"), "sr_subject_versions", ["subject"], unique=False
    )
    op.create_index(
        op.f("ix_sr_subject_versions_schema_id"), "sr_subject_versions", ["schema_id"], unique=False
    )
    op.create_table(
        "sr_config",
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("compatibility", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subject", name=op.f("pk_sr_config")),
    )


def downgrade() -> None:
    op.drop_table("sr_config")
    op.drop_index(op.f("ix_sr_subject_versions_schema_id"), table_name="sr_subject_versions")
    op.drop_index(op.f("ix_sr_subject_versions_subject"), table_name="sr_subject_versions")
    op.drop_table("sr_subject_versions")
    op.drop_table("sr_schemas")
