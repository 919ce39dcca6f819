"""Audit: the stored chain head gets a signature over the whole head and the id of its key.

``audit_chain_head.signature`` is the batch signature of the last entry: it covers only
``entry_hash``. ``head_signature`` covers the head's sequence, hash, time and key id (see
``hub.audit.headsig``), so the head the hub publishes proves its own sequence; ``key_id`` names
the key that made it, which is the key in force for the next batch (after a hub key rotation,
a process still holding the retired key refuses to append). Both stay NULL until the next
append: a migration has no key to sign with, and such a head is checked as before (old form).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_chain_head") as batch:
        batch.add_column(sa.Column("head_signature", sa.LargeBinary(length=64), nullable=True))
        batch.add_column(sa.Column("key_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_chain_head") as batch:
        batch.drop_column("key_id")
        batch.drop_column("head_signature")
