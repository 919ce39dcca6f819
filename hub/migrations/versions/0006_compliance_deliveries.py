"""Compliance: per transaction, its accepted change sets and its worst lag.

A transaction becomes a *delivery* when one of its change sets has an accepted item: the first
delivery (the initial load) is no longer a transaction refused as a whole, and the lag exported
is the worst of the last delivery, not of whichever change set committed last.

``accepted_sets`` of existing rows is filled from the processed-message ledger (its ACCEPTED and
PARTIAL rows), so an agreement that already delivered keeps its initial load; their lag was not
kept per transaction and stays NULL.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "compliance_deliveries",
        sa.Column("accepted_sets", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.add_column(
        "compliance_deliveries", sa.Column("worst_lag_seconds", sa.Float(), nullable=True)
    )
    op.execute(
        "UPDATE compliance_deliveries SET"
        " accepted_sets = (SELECT count(*) FROM processed_messages p"
        " WHERE p.agreement_id = compliance_deliveries.agreement_id"
        " AND p.transaction_id = compliance_deliveries.transaction_id"
        " AND p.outcome IN ('ACCEPTED', 'PARTIAL'))"
    )


def downgrade() -> None:
    with op.batch_alter_table("compliance_deliveries") as batch:
        batch.drop_column("worst_lag_seconds")
        batch.drop_column("accepted_sets")
