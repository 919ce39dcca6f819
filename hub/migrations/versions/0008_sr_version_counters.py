"""Schema Registry: each subject's highest version number, so a number is never given twice.

Before, a permanent delete of a subject's latest version let the next registration take its
number again, with another schema (as Confluent's registry does); an agreement that allowed
"version N" then allowed a schema its signatories never saw. ``sr_version_counters`` keeps the
highest number each subject ever had; registration takes the next one.

Existing subjects start from the highest number the tables hold or the audit log recorded
(``CONTRACT_REGISTERED`` entries name subject and version), so a number freed before this
migration and recorded by the hub is not given again either.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    counters = op.create_table(
        "sr_version_counters",
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("last_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("subject", name=op.f("pk_sr_version_counters")),
    )
    assert counters is not None
    conn = op.get_bind()
    versions = sa.table("sr_subject_versions", sa.column("subject"), sa.column("version"))
    highest: dict[str, int] = {
        subject: int(last)
        for subject, last in conn.execute(
            sa.select(versions.c.subject, sa.func.max(versions.c.version)).group_by(
                versions.c.subject
            )
        )
    }
    audit = sa.table("audit_log", sa.column("action"), sa.column("details"))
    query = sa.select(audit.c.details).where(audit.c.action == "CONTRACT_REGISTERED")
    for (text,) in conn.execute(query):
        try:
            details = json.loads(text)
            subject, number = str(details["subject"]), int(details["version"])
        except (KeyError, TypeError, ValueError):
            continue  # not an entry of the contracts' shape
        highest[subject] = max(highest.get(subject, 0), number)
    if highest:
        op.bulk_insert(
            counters,
            [{"subject": s, "last_version": n} for s, n in sorted(highest.items())],
        )


def downgrade() -> None:
    op.drop_table("sr_version_counters")
