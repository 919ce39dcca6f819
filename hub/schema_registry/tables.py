"""Schema Registry tables: schemas by id, subject versions and their counters, config."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base

__all__ = [
    "GLOBAL_CONFIG",
    "RegistryConfig",
    "RegistrySchema",
    "SubjectVersion",
    "SubjectVersionCounter",
]

#: Key of the global row in ``sr_config`` (a subject name can never be empty).
GLOBAL_CONFIG = ""


def _now() -> datetime:
    return datetime.now(UTC)


class RegistrySchema(Base):
    """A distinct schema text; its id is what the wire format carries."""

    __tablename__ = "sr_schemas"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    schema_type: Mapped[str] = mapped_column(String(16), default="AVRO")
    canonical: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class SubjectVersion(Base):
    """Version ``version`` of ``subject`` is schema ``schema_id``; deletes are soft first."""

    __tablename__ = "sr_subject_versions"
    __table_args__ = (UniqueConstraint("subject", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(255), index=True)
    version: Mapped[int] = mapped_column(Integer)
    schema_id: Mapped[int] = mapped_column(ForeignKey("sr_schemas.id"), index=True)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class SubjectVersionCounter(Base):
    """The highest version number ``subject`` ever had (migration 0008).

    A permanent delete removes the version's row but not its number: the next registration takes
    ``last_version + 1``, so a number never names two different schemas (Confluent would give
    the number of a hard-deleted latest version again; agreements cite numbers).
    """

    __tablename__ = "sr_version_counters"

    subject: Mapped[str] = mapped_column(String(255), primary_key=True)
    last_version: Mapped[int] = mapped_column(Integer)


class RegistryConfig(Base):
    """Compatibility level of one subject, or the global one (``subject == ''``)."""

    __tablename__ = "sr_config"

    subject: Mapped[str] = mapped_column(String(255), primary_key=True)
    compatibility: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=_now, onupdate=_now
    )
