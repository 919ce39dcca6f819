"""Compliance: items of an agreement's initial load (its first delivery), whose lag is not measured.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "compliance_totals",
        sa.Column("initial_items", sa.BigInteger(), server_default="0", nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("compliance_totals") as batch:
        batch.drop_column("initial_items")
