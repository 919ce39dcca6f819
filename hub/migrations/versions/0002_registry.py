"""Central registry: people, source records, links, programs, enrollments, payments, deliveries.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

Hand-written and portable: the same operations run on SQLite and PostgreSQL. Constraint names
follow ``hub.db``'s naming convention so ``Base.metadata`` and the migrated schema agree. Tables
with a natural key are ``WITHOUT ROWID`` on SQLite, and only the indexes queries and foreign keys
need exist: each one costs every insert (see ``hub.registry.models``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.String(128)
_VERSION = sa.String(512)
_NO_ROWID = {"sqlite_with_rowid": False}
_TS = sa.DateTime(timezone=True)


def _geo() -> list[sa.Column[str]]:
    return [
        sa.Column("cve_ent", sa.String(2), nullable=True),
        sa.Column("cve_mun", sa.String(3), nullable=True),
        sa.Column("cve_loc", sa.String(4), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("curp", sa.String(18), nullable=True),
        sa.Column("primer_apellido", sa.String(100), nullable=False),
        sa.Column("segundo_apellido", sa.String(100), nullable=True),
        sa.Column("nombre", sa.String(100), nullable=False),
        sa.Column("fecha_nacimiento", sa.Date(), nullable=True),
        sa.Column("entidad_nacimiento", sa.String(2), nullable=True),
        sa.Column("sexo", sa.String(1), nullable=True),
        sa.Column("discapacidad", sa.Boolean(), nullable=True),
        sa.Column("indigena", sa.Boolean(), nullable=True),
        sa.Column("version", _VERSION, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_people"),
        sa.UniqueConstraint("curp", name="uq_people_curp"),
        **_NO_ROWID,
    )
    op.create_table(
        "programs",
        sa.Column("key", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("coneval_key", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_programs"),
    )
    op.create_table(
        "source_records",
        sa.Column("agreement_id", _ID, nullable=False),
        sa.Column("reference_id", _ID, nullable=False),
        sa.Column("person_id", sa.String(32), nullable=False),
        sa.Column("curp", sa.String(18), nullable=True),
        sa.Column("link_version", _VERSION, nullable=False),
        sa.Column("version", _VERSION, nullable=False),
        sa.Column("geo_version", _VERSION, nullable=True),
        *_geo(),
        sa.Column("domicilio", sa.String(300), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("first_seen_at", _TS, nullable=False),
        sa.Column("last_seen_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("agreement_id", "reference_id", name="pk_source_records"),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name="fk_source_records_person_id_people"
        ),
        **_NO_ROWID,
    )
    op.create_index("ix_source_records_person_id", "source_records", ["person_id"])
    op.create_table(
        "person_links",
        sa.Column("agreement_id", _ID, nullable=False),
        sa.Column("reference_id", _ID, nullable=False),
        sa.Column("person_id", sa.String(32), nullable=False),
        sa.Column("method", sa.String(20), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(
            "agreement_id", "reference_id", "person_id", name="pk_person_links"
        ),
        sa.ForeignKeyConstraint(
            ["agreement_id", "reference_id"],
            ["source_records.agreement_id", "source_records.reference_id"],
            name="fk_person_links_source_records",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name="fk_person_links_person_id_people"
        ),
        **_NO_ROWID,
    )
    op.create_index("ix_person_links_person_id", "person_links", ["person_id"])
    op.create_table(
        "enrollments",
        sa.Column("agreement_id", _ID, nullable=False),
        sa.Column("reference_id", _ID, nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("person_id", sa.String(32), nullable=False),
        sa.Column("program_key", sa.String(32), nullable=False),
        sa.Column("status", sa.String(6), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("tipo_beneficio", sa.String(60), nullable=True),
        sa.Column("monto_centavos", sa.BigInteger(), nullable=True),
        sa.Column("titular", sa.Boolean(), nullable=True),
        *_geo(),
        sa.Column("message_id", _ID, nullable=False),
        sa.PrimaryKeyConstraint(
            "agreement_id", "reference_id", "valid_from", name="pk_enrollments"
        ),
        sa.CheckConstraint("status IN ('ACTIVA', 'BAJA')", name="ck_enrollments_status"),
        sa.ForeignKeyConstraint(
            ["agreement_id", "reference_id"],
            ["source_records.agreement_id", "source_records.reference_id"],
            name="fk_enrollments_source_records",
        ),
        sa.ForeignKeyConstraint(
            ["program_key"], ["programs.key"], name="fk_enrollments_program_key_programs"
        ),
        **_NO_ROWID,
    )
    op.create_index(
        "ix_enrollments_program_period", "enrollments", ["program_key", "valid_from", "valid_to"]
    )
    op.create_table(
        "benefits_paid",
        sa.Column("agreement_id", _ID, nullable=False),
        sa.Column("reference_id", _ID, nullable=False),
        sa.Column("message_id", _ID, nullable=False),
        sa.Column("person_id", sa.String(32), nullable=False),
        sa.Column("program_key", sa.String(32), nullable=False),
        sa.Column("tipo_beneficio", sa.String(60), nullable=False),
        sa.Column("monto_centavos", sa.BigInteger(), nullable=False),
        sa.Column("fecha_beneficio", sa.Date(), nullable=False),
        *_geo(),
        sa.PrimaryKeyConstraint(
            "agreement_id", "reference_id", "message_id", name="pk_benefits_paid"
        ),
        sa.ForeignKeyConstraint(
            ["agreement_id", "reference_id"],
            ["source_records.agreement_id", "source_records.reference_id"],
            name="fk_benefits_paid_source_records",
        ),
        sa.ForeignKeyConstraint(
            ["program_key"], ["programs.key"], name="fk_benefits_paid_program_key_programs"
        ),
        **_NO_ROWID,
    )
    op.create_index(
        "ix_benefits_paid_program_date", "benefits_paid", ["program_key", "fecha_beneficio"]
    )
    op.create_table(
        "deliveries",
        sa.Column("agreement_id", _ID, nullable=False),
        sa.Column("transaction_id", _ID, nullable=False),
        sa.Column("sender_id", _ID, nullable=False),
        sa.Column("chunk_count", sa.Integer(), nullable=False),
        sa.Column("first_chunk_index", sa.Integer(), nullable=False),
        sa.Column("last_chunk_index", sa.Integer(), nullable=False),
        sa.Column("items_applied", sa.Integer(), nullable=False),
        sa.Column("first_sent_at", _TS, nullable=False),
        sa.Column("last_sent_at", _TS, nullable=False),
        sa.Column("first_applied_at", _TS, nullable=False),
        sa.Column("last_applied_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("agreement_id", "transaction_id", name="pk_deliveries"),
    )
    op.create_table(
        "applied_items",
        sa.Column("agreement_id", _ID, nullable=False),
        sa.Column("reference_id", _ID, nullable=False),
        sa.Column("message_id", _ID, nullable=False),
        sa.Column("transaction_id", _ID, nullable=False),
        sa.Column("operation", sa.String(6), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("version", _VERSION, nullable=False),
        sa.Column("program_key", sa.String(32), nullable=True),
        sa.Column("tipo_beneficio", sa.String(60), nullable=True),
        sa.Column("monto_centavos", sa.BigInteger(), nullable=True),
        sa.Column("titular", sa.Boolean(), nullable=True),
        *_geo(),
        sa.Column("applied_at", _TS, nullable=False),
        # invariant 2's idempotency key; reference before message so it also serves re-folding
        sa.PrimaryKeyConstraint(
            "agreement_id", "reference_id", "message_id", name="pk_applied_items"
        ),
        **_NO_ROWID,
    )


def downgrade() -> None:
    for table in (
        "applied_items",
        "deliveries",
        "benefits_paid",
        "enrollments",
        "person_links",
        "source_records",
        "programs",
        "people",
    ):
        op.drop_table(table)
