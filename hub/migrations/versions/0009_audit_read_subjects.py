"""Audit: the registry person ids each list read showed, so "who read my data" has an answer.

``sisi registry enrolled`` and ``paid`` show lists of people but were recorded as one
PERSONAL_DATA_READ entry with only a count: none of the people listed could find that read.
``audit_read_subjects`` holds one row per (person, entry), written in the entry's transaction;
the entry's details carry the count and ``people_sha256`` (SHA-256 of the sorted ids), so the
rows are under the hash chain and ``sisi audit verify`` finds one deleted, added or changed.
Keyed by person first (the ARCO question, ``sisi audit reads``); the sequence index is the
verifier's ordered scan. Entries recorded before this migration have no rows and no digest.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_read_subjects",
        sa.Column("sequence", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("person_id", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("person_id", "sequence", name=op.f("pk_audit_read_subjects")),
        sqlite_with_rowid=False,
    )
    op.create_index(op.f("ix_audit_read_subjects_sequence"), "audit_read_subjects", ["sequence"])


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_read_subjects_sequence"), table_name="audit_read_subjects")
    op.drop_table("audit_read_subjects")
