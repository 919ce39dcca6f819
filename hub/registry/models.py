"""Tables of the central registry: people, source records, programs, enrollments, payments.

Design notes (the *why*):

- ``applied_items`` is both the idempotency key of invariant 2 (UNIQUE agreement, message,
  reference) and the ledger of every applied item; enrollment history is re-folded from it when
  items arrive out of order, so no item is ever lost to arrival order.
- ``enrollments`` is a slowly changing dimension (type 2): one row per state of a padrón row
  (source record) in a program, ``valid_from`` inclusive and ``valid_to`` exclusive (NULL: current);
  its key is (agreement, reference, valid_from) — the fold never opens two states on one day.
- Every index costs each insert, so tables keep only those that queries or foreign keys need. On
  SQLite the tables with a natural key are ``WITHOUT ROWID`` (the key *is* the table: one B-tree
  instead of two). ``person_id`` in ``enrollments`` and ``benefits_paid`` is a copy of the source
  record's, kept in step by the writer when a record is relinked; it has no index and no foreign
  key (a person's rows are found through ``source_records.person_id``, which has both).
- Amounts are integer centavos: exact on SQLite (which has no decimal type) and PostgreSQL alike.
- ``version`` columns hold the item order key (see :mod:`hub.registry.items`); they are compared
  in Python, never in SQL, because database collations do not compare strings bytewise.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
)
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base

__all__ = [
    "APPLIED_ITEMS",
    "BENEFITS_PAID",
    "DELIVERIES",
    "ENROLLMENTS",
    "PEOPLE",
    "PERSON_LINKS",
    "PROGRAMS",
    "REGISTRY_TABLES",
    "SOURCE_RECORDS",
    "AppliedItem",
    "BenefitPaid",
    "Delivery",
    "Enrollment",
    "Person",
    "PersonLink",
    "Program",
    "SourceRecord",
]

_ID = String(128)  # agency-made identifiers: agreement, message, transaction, reference
_VERSION = String(512)
_TS = DateTime(timezone=True)


def _no_rowid() -> dict[str, Any]:
    """SQLite: the primary key is the table (one B-tree per insert instead of two)."""
    return {"sqlite_with_rowid": False}


def _of_source_record(table: str) -> ForeignKeyConstraint:
    """``table``'s (agreement_id, reference_id) names a source record (a padrón row)."""
    return ForeignKeyConstraint(
        ["agreement_id", "reference_id"],
        ["source_records.agreement_id", "source_records.reference_id"],
        name=f"fk_{table}_source_records",
    )



class Person(Base):
    """A person: CURP unique when known, names normalized (uppercase, no accents)."""

    __tablename__ = "people"
    __table_args__ = (_no_rowid(),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    curp: Mapped[str | None] = mapped_column(String(18), unique=True)
    primer_apellido: Mapped[str] = mapped_column(String(100))
    segundo_apellido: Mapped[str | None] = mapped_column(String(100))
    nombre: Mapped[str] = mapped_column(String(100))
    fecha_nacimiento: Mapped[dt.date | None] = mapped_column(Date)
    entidad_nacimiento: Mapped[str | None] = mapped_column(String(2))
    sexo: Mapped[str | None] = mapped_column(String(1))
    discapacidad: Mapped[bool | None] = mapped_column(Boolean)
    indigena: Mapped[bool | None] = mapped_column(Boolean)
    version: Mapped[str] = mapped_column(_VERSION)  # order key of the item that gave these values
    created_at: Mapped[dt.datetime] = mapped_column(_TS)
    updated_at: Mapped[dt.datetime] = mapped_column(_TS)


class Program(Base):
    """The program catalog (clave presupuestaria, name, CONEVAL inventory key)."""

    __tablename__ = "programs"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    coneval_key: Mapped[str | None] = mapped_column(String(32))


class SourceRecord(Base):
    """One row of an agency's padrón (agreement, reference_id) and its current values."""

    __tablename__ = "source_records"
    __table_args__ = (_no_rowid(),)

    agreement_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    reference_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"), index=True)
    curp: Mapped[str | None] = mapped_column(String(18))
    link_version: Mapped[str] = mapped_column(_VERSION)  # item that decided ``person_id``
    version: Mapped[str] = mapped_column(_VERSION)  # newest item applied to this record
    geo_version: Mapped[str | None] = mapped_column(_VERSION)  # newest item with geography
    cve_ent: Mapped[str | None] = mapped_column(String(2))
    cve_mun: Mapped[str | None] = mapped_column(String(3))
    cve_loc: Mapped[str | None] = mapped_column(String(4))
    domicilio: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean)
    first_seen_at: Mapped[dt.datetime] = mapped_column(_TS)  # earliest sent_at of its items
    last_seen_at: Mapped[dt.datetime] = mapped_column(_TS)  # latest sent_at of its items


class PersonLink(Base):
    """Evidence that a source record is a person: method ("curp", "registro") and score."""

    __tablename__ = "person_links"
    __table_args__ = (
        _of_source_record("person_links"),
        _no_rowid(),
    )

    agreement_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    reference_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"), primary_key=True, index=True)
    method: Mapped[str] = mapped_column(String(20))
    score: Mapped[float] = mapped_column(Float)


class Enrollment(Base):
    """One state (ACTIVA/BAJA) of a source record in a program over [valid_from, valid_to)."""

    __tablename__ = "enrollments"
    __table_args__ = (
        CheckConstraint("status IN ('ACTIVA', 'BAJA')", name="status"),
        _of_source_record("enrollments"),
        Index("ix_enrollments_program_period", "program_key", "valid_from", "valid_to"),
        _no_rowid(),
    )

    agreement_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    reference_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    valid_from: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    person_id: Mapped[str] = mapped_column(String(32))  # the record's (see module docstring)
    program_key: Mapped[str] = mapped_column(ForeignKey("programs.key"))
    status: Mapped[str] = mapped_column(String(6))
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    tipo_beneficio: Mapped[str | None] = mapped_column(String(60))
    monto_centavos: Mapped[int | None] = mapped_column(BigInteger)
    titular: Mapped[bool | None] = mapped_column(Boolean)
    cve_ent: Mapped[str | None] = mapped_column(String(2))
    cve_mun: Mapped[str | None] = mapped_column(String(3))
    cve_loc: Mapped[str | None] = mapped_column(String(4))
    message_id: Mapped[str] = mapped_column(_ID)  # the item that opened this state


class BenefitPaid(Base):
    """A benefit payment (PAGO item); geography as the item gave it (NULL: the record's)."""

    __tablename__ = "benefits_paid"
    __table_args__ = (
        _of_source_record("benefits_paid"),
        Index("ix_benefits_paid_program_date", "program_key", "fecha_beneficio"),
        _no_rowid(),
    )

    # one PAGO item pays once: the ledger key (agreement, reference, message) is the payment's
    agreement_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    reference_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    message_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    person_id: Mapped[str] = mapped_column(String(32))  # the record's (see module docstring)
    program_key: Mapped[str] = mapped_column(ForeignKey("programs.key"))
    tipo_beneficio: Mapped[str] = mapped_column(String(60))
    monto_centavos: Mapped[int] = mapped_column(BigInteger)
    fecha_beneficio: Mapped[dt.date] = mapped_column(Date)
    cve_ent: Mapped[str | None] = mapped_column(String(2))
    cve_mun: Mapped[str | None] = mapped_column(String(3))
    cve_loc: Mapped[str | None] = mapped_column(String(4))


class Delivery(Base):
    """A delivery (transaction) of an agreement: chunks seen, items applied, when."""

    __tablename__ = "deliveries"

    agreement_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    transaction_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    sender_id: Mapped[str] = mapped_column(_ID)
    chunk_count: Mapped[int] = mapped_column(Integer)
    first_chunk_index: Mapped[int] = mapped_column(Integer)
    last_chunk_index: Mapped[int] = mapped_column(Integer)
    items_applied: Mapped[int] = mapped_column(Integer)
    first_sent_at: Mapped[dt.datetime] = mapped_column(_TS)
    last_sent_at: Mapped[dt.datetime] = mapped_column(_TS)
    first_applied_at: Mapped[dt.datetime] = mapped_column(_TS)
    last_applied_at: Mapped[dt.datetime] = mapped_column(_TS)


class AppliedItem(Base):
    """Ledger of applied items, keyed by invariant 2's (agreement, message, reference).

    The key is the primary key (a UNIQUE, NOT NULL constraint) in the order agreement, reference,
    message, so that the same index also finds a record's whole ledger when it is re-folded.
    """

    __tablename__ = "applied_items"
    __table_args__ = (_no_rowid(),)

    agreement_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    reference_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    message_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    transaction_id: Mapped[str] = mapped_column(_ID)
    operation: Mapped[str] = mapped_column(String(6))
    effective_date: Mapped[dt.date] = mapped_column(Date)
    version: Mapped[str] = mapped_column(_VERSION)
    program_key: Mapped[str | None] = mapped_column(String(32))
    tipo_beneficio: Mapped[str | None] = mapped_column(String(60))
    monto_centavos: Mapped[int | None] = mapped_column(BigInteger)
    titular: Mapped[bool | None] = mapped_column(Boolean)
    cve_ent: Mapped[str | None] = mapped_column(String(2))
    cve_mun: Mapped[str | None] = mapped_column(String(3))
    cve_loc: Mapped[str | None] = mapped_column(String(4))
    applied_at: Mapped[dt.datetime] = mapped_column(_TS)


#: Every table this package owns (migration 0002), in dependency order.
REGISTRY_TABLES: tuple[str, ...] = (
    "people",
    "programs",
    "source_records",
    "person_links",
    "enrollments",
    "benefits_paid",
    "deliveries",
    "applied_items",
)

# The tables for Core statements, typed once (mypy sees ``__table__`` as a ``FromClause``).
PEOPLE: Table = Person.__table__  # type: ignore[assignment]
PROGRAMS: Table = Program.__table__  # type: ignore[assignment]
SOURCE_RECORDS: Table = SourceRecord.__table__  # type: ignore[assignment]
PERSON_LINKS: Table = PersonLink.__table__  # type: ignore[assignment]
ENROLLMENTS: Table = Enrollment.__table__  # type: ignore[assignment]
BENEFITS_PAID: Table = BenefitPaid.__table__  # type: ignore[assignment]
DELIVERIES: Table = Delivery.__table__  # type: ignore[assignment]
APPLIED_ITEMS: Table = AppliedItem.__table__  # type: ignore[assignment]
