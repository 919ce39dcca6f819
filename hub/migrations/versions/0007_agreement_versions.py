"""Agreement versions: the exact bytes of each agreement file version the hub audited as loaded.

One row per (agreement, SHA-256 of the file's bytes), written in the transaction that appends
its ``AGREEMENT_CHANGED`` entry (or, for a version audited before this table existed, the first
time a worker loads it again). At start-up, an agreement whose file does not load keeps in force
the stored version whose digest its last ``AGREEMENT_CHANGED`` entry names, in every worker and
after every restart; ``kind`` tells which removed agreements' topics the hub keeps consuming.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agreement_versions",
        sa.Column("agreement_id", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("file", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("agreement_id", "sha256", name=op.f("pk_agreement_versions")),
    )


def downgrade() -> None:
    op.drop_table("agreement_versions")
