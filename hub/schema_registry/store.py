"""The registry's operations on its tables: register, look up, versions, config, deletes.

Every write goes through the subject's compatibility mode; nothing here knows about HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.contracts.compatibility import Problem, check_compatibility, ensure_compatible
from hub.contracts.modes import DEFAULT_MODE, CompatibilityMode
from hub.contracts.schema_text import canonical_text, fingerprint, parse_schema
from hub.errors import ContractError
from hub.schema_registry.errors import (
    InvalidCompatibilityError,
    InvalidSchemaError,
    InvalidVersionError,
    SchemaNotFoundError,
    SubjectConfigNotFoundError,
    SubjectNotFoundError,
    SubjectNotSoftDeletedError,
    SubjectSoftDeletedError,
    VersionNotFoundError,
    VersionNotSoftDeletedError,
    VersionSoftDeletedError,
)
from hub.schema_registry.tables import (
    GLOBAL_CONFIG,
    RegistryConfig,
    RegistrySchema,
    SubjectVersion,
    SubjectVersionCounter,
)

__all__ = ["RegisteredSchema", "SchemaStore", "StoredSchema", "VersionRef"]

VersionRef = int | str  # a positive integer, "latest" or "-1"


@dataclass(frozen=True)
class StoredSchema:
    """A schema by id."""

    id: int
    schema: str
    schema_type: str = "AVRO"


@dataclass(frozen=True)
class RegisteredSchema:
    """A subject version: which schema it is."""

    subject: str
    version: int
    id: int
    schema: str
    deleted: bool = False


def _definition(schema_text: str) -> Any:
    try:
        definition = json.loads(schema_text)
    except (json.JSONDecodeError, TypeError) as exc:
        raise InvalidSchemaError(f"el esquema no es JSON válido: {exc}") from exc
    try:
        parse_schema(definition, text=schema_text)
    except ContractError as exc:
        raise InvalidSchemaError(exc.message, hint=exc.hint) from exc
    return definition


def _mode(value: str) -> CompatibilityMode:
    try:
        return CompatibilityMode(value.strip().upper())
    except ValueError as exc:
        valid = ", ".join(m.value for m in CompatibilityMode)
        raise InvalidCompatibilityError(
            f"nivel de compatibilidad desconocido {value!r}", hint=f"use uno de: {valid}."
        ) from exc


class SchemaStore:
    """Schema Registry state in the hub's database (tables from migration 0001)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- reads -------------------------------------------------------------------------------

    def subjects(self, *, deleted: bool = False) -> list[str]:
        """Subjects with at least one version (live ones unless ``deleted``)."""
        query = select(SubjectVersion.subject).distinct().order_by(SubjectVersion.subject)
        if not deleted:
            query = query.where(SubjectVersion.deleted.is_(False))
        with Session(self.engine) as session:
            return list(session.scalars(query))

    def _rows(self, session: Session, subject: str, deleted: bool) -> list[SubjectVersion]:
        query = select(SubjectVersion).where(SubjectVersion.subject == subject)
        if not deleted:
            query = query.where(SubjectVersion.deleted.is_(False))
        return list(session.scalars(query.order_by(SubjectVersion.version)))

    def versions(self, subject: str, *, deleted: bool = False) -> list[int]:
        """Version numbers of ``subject``; ``SubjectNotFoundError`` when it has none."""
        with Session(self.engine) as session:
            rows = self._rows(session, subject, deleted)
        if not rows:
            raise SubjectNotFoundError(f"no existe el subject {subject!r}")
        return [row.version for row in rows]

    def _registered(self, session: Session, row: SubjectVersion) -> RegisteredSchema:
        stored = session.get(RegistrySchema, row.schema_id)
        assert stored is not None  # foreign key
        return RegisteredSchema(row.subject, row.version, stored.id, stored.canonical, row.deleted)

    def get_version(
        self, subject: str, version: VersionRef, *, deleted: bool = False
    ) -> RegisteredSchema:
        """One version (or ``latest``) of ``subject``."""
        number = self._version_number(version)
        with Session(self.engine) as session:
            rows = self._rows(session, subject, deleted)
            if not rows:
                raise SubjectNotFoundError(f"no existe el subject {subject!r}")
            row = (
                rows[-1] if number is None else next((r for r in rows if r.version == number), None)
            )
            if row is None:
                raise VersionNotFoundError(f"el subject {subject!r} no tiene la versión {number}")
            return self._registered(session, row)

    @staticmethod
    def _version_number(version: VersionRef) -> int | None:
        if isinstance(version, str):
            if version in ("latest", "-1"):
                return None
            if not version.isdigit():
                raise InvalidVersionError(
                    f"versión no válida {version!r}", hint="use un entero positivo o 'latest'."
                )
            version = int(version)
        if version == -1:
            return None
        if version < 1:
            raise InvalidVersionError(f"versión no válida {version}", hint="use 1 o mayor.")
        return version

    def get_schema(self, schema_id: int) -> StoredSchema:
        """The schema with ``schema_id``."""
        with Session(self.engine) as session:
            stored = session.get(RegistrySchema, schema_id)
            if stored is None:
                raise SchemaNotFoundError(f"no existe el esquema con id {schema_id}")
            return StoredSchema(stored.id, stored.canonical, stored.schema_type)

    def held_schema(self, schema_text: str) -> StoredSchema | None:
        """The schema equal to ``schema_text`` (formatting aside) if the registry ever stored it.

        Schemas outlive their subject versions (ids stay readable after a permanent delete), so
        this tells whether the text was registered at some time, under any subject.
        """
        key = fingerprint(canonical_text(_definition(schema_text)))
        with Session(self.engine) as session:
            stored = session.scalars(
                select(RegistrySchema).where(RegistrySchema.fingerprint == key)
            ).first()
            if stored is None:
                return None
            return StoredSchema(stored.id, stored.canonical, stored.schema_type)

    def schema_versions(self, schema_id: int, *, deleted: bool = False) -> list[tuple[str, int]]:
        """``(subject, version)`` pairs that use ``schema_id``."""
        self.get_schema(schema_id)
        query = select(SubjectVersion.subject, SubjectVersion.version).where(
            SubjectVersion.schema_id == schema_id
        )
        if not deleted:
            query = query.where(SubjectVersion.deleted.is_(False))
        with Session(self.engine) as session:
            rows = session.execute(query.order_by(SubjectVersion.subject, SubjectVersion.version))
            return [(subject, version) for subject, version in rows]

    def lookup(self, subject: str, schema_text: str, *, deleted: bool = False) -> RegisteredSchema:
        """The version of ``subject`` whose schema equals ``schema_text`` (formatting aside)."""
        key = fingerprint(canonical_text(_definition(schema_text)))
        with Session(self.engine) as session:
            rows = self._rows(session, subject, deleted)
            if not rows:
                raise SubjectNotFoundError(f"no existe el subject {subject!r}")
            for row in reversed(rows):
                registered = self._registered(session, row)
                if fingerprint(registered.schema) == key:
                    return registered
        raise SchemaNotFoundError(
            f"el esquema no está registrado en el subject {subject!r}",
            hint="las dependencias no registran esquemas: use una versión publicada del contrato "
            "o pida al operador del hub que registre la nueva.",
        )

    # -- config --------------------------------------------------------------------------------

    def get_config(self, subject: str | None = None, *, fallback: bool = True) -> CompatibilityMode:
        """The subject's level (or the global one when it has none and ``fallback``)."""
        with Session(self.engine) as session:
            if subject is not None:
                row = session.get(RegistryConfig, subject)
                if row is not None:
                    return CompatibilityMode(row.compatibility)
                if not fallback:
                    raise SubjectConfigNotFoundError(
                        f"el subject {subject!r} no tiene nivel de compatibilidad propio",
                        hint=f"rige el nivel global (GET /config/{subject}?defaultToGlobal=true "
                        f"lo muestra); para fijarle uno propio: PUT /config/{subject}.",
                    )
            row = session.get(RegistryConfig, GLOBAL_CONFIG)
            return CompatibilityMode(row.compatibility) if row is not None else DEFAULT_MODE

    def set_config(self, level: str, subject: str | None = None) -> CompatibilityMode:
        """Set the subject's (or the global) compatibility level."""
        mode = _mode(level)
        with Session(self.engine) as session, session.begin():
            key = GLOBAL_CONFIG if subject is None else subject
            row = session.get(RegistryConfig, key)
            if row is None:
                session.add(RegistryConfig(subject=key, compatibility=mode.value))
            else:
                row.compatibility = mode.value
        return mode

    def set_config_if_absent(self, level: str, subject: str) -> CompatibilityMode:
        """Give ``subject`` the level ``level`` unless it has one of its own; its level after."""
        mode = _mode(level)
        try:
            with Session(self.engine) as session, session.begin():
                row = session.get(RegistryConfig, subject)
                if row is not None:
                    return CompatibilityMode(row.compatibility)
                session.add(RegistryConfig(subject=subject, compatibility=mode.value))
        except IntegrityError:  # a concurrent writer gave it one first: that one stays
            return self.get_config(subject, fallback=False)
        return mode

    def delete_config(self, subject: str) -> CompatibilityMode:
        """Drop the subject's own level; it falls back to the global one."""
        try:
            previous = self.get_config(subject, fallback=False)
        except SubjectConfigNotFoundError as exc:  # Confluent answers 40401 here
            raise SubjectNotFoundError(exc.message, hint=exc.hint) from exc
        with Session(self.engine) as session, session.begin():
            session.execute(delete(RegistryConfig).where(RegistryConfig.subject == subject))
        return previous

    # -- compatibility and registration ------------------------------------------------------

    def _previous(self, session: Session, subject: str) -> list[tuple[int, Any]]:
        return [
            (row.version, json.loads(self._registered(session, row).schema))
            for row in self._rows(session, subject, deleted=False)
        ]

    def test_compatibility(
        self, subject: str, schema_text: str, version: VersionRef | None = None
    ) -> list[Problem]:
        """Problems ``schema_text`` would have in ``subject`` (``version``: only against that one;
        ``None``: against what the subject's mode requires)."""
        definition = _definition(schema_text)
        mode = self.get_config(subject)
        if version is None:
            with Session(self.engine) as session:
                previous = self._previous(session, subject)
            return check_compatibility(definition, previous, mode, subject=subject)
        target = self.get_version(subject, version)
        single = [(target.version, json.loads(target.schema))]
        return check_compatibility(definition, single, mode, subject=subject)

    def register(self, subject: str, schema_text: str) -> RegisteredSchema:
        """Register ``schema_text`` under ``subject`` if its mode allows; idempotent."""
        definition = _definition(schema_text)
        canonical = canonical_text(definition)
        key = fingerprint(canonical)
        mode = self.get_config(subject)
        for attempt in range(3):
            try:
                return self._register(subject, definition, canonical, key, mode)
            except IntegrityError:  # a concurrent registration took the version or fingerprint
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _register(
        self, subject: str, definition: Any, canonical: str, key: str, mode: CompatibilityMode
    ) -> RegisteredSchema:
        with Session(self.engine) as session, session.begin():
            for row in reversed(self._rows(session, subject, deleted=False)):
                registered = self._registered(session, row)
                if fingerprint(registered.schema) == key:
                    return registered
            ensure_compatible(definition, self._previous(session, subject), mode, subject=subject)
            stored = session.scalars(
                select(RegistrySchema).where(RegistrySchema.fingerprint == key)
            ).first()
            if stored is None:
                stored = RegistrySchema(fingerprint=key, schema_type="AVRO", canonical=canonical)
                session.add(stored)
                session.flush()
            number = self._last_version(session, subject) + 1
            row = SubjectVersion(
                subject=subject, version=number, schema_id=stored.id, deleted=False
            )
            session.add(row)
            self._remember_version(session, subject, number)
            session.flush()
            return RegisteredSchema(subject, row.version, stored.id, stored.canonical)

    @staticmethod
    def _last_version(session: Session, subject: str) -> int:
        """The highest number ``subject`` ever had: its rows' or its counter's (0: none)."""
        in_rows = session.scalar(
            select(func.max(SubjectVersion.version)).where(SubjectVersion.subject == subject)
        )
        counter = session.get(SubjectVersionCounter, subject)
        return max(in_rows or 0, counter.last_version if counter is not None else 0)

    @staticmethod
    def _remember_version(session: Session, subject: str, number: int) -> None:
        """Raise ``subject``'s counter to ``number`` (a concurrent first insert: IntegrityError,
        and the registration is tried again)."""
        counter = session.get(SubjectVersionCounter, subject)
        if counter is None:
            session.add(SubjectVersionCounter(subject=subject, last_version=number))
        elif counter.last_version < number:
            counter.last_version = number

    # -- deletes -------------------------------------------------------------------------------

    def delete_subject(self, subject: str, *, permanent: bool = False) -> list[int]:
        """Soft-delete every version (or, after that, remove them with ``permanent``)."""
        with Session(self.engine) as session, session.begin():
            rows = self._rows(session, subject, deleted=True)
            if not rows:
                raise SubjectNotFoundError(f"no existe el subject {subject!r}")
            if permanent:
                if any(not row.deleted for row in rows):
                    raise SubjectNotSoftDeletedError(
                        f"el subject {subject!r} debe borrarse primero sin 'permanent'"
                    )
                self._remember_version(session, subject, max(row.version for row in rows))
                for row in rows:
                    session.delete(row)
                session.execute(delete(RegistryConfig).where(RegistryConfig.subject == subject))
                return [row.version for row in rows]
            live = [row for row in rows if not row.deleted]
            if not live:
                raise SubjectSoftDeletedError(
                    f"el subject {subject!r} ya está borrado (borrado lógico)",
                    hint="para borrarlo definitivamente añada ?permanent=true.",
                )
            for row in live:
                row.deleted = True
            return [row.version for row in live]

    def delete_version(self, subject: str, version: VersionRef, *, permanent: bool = False) -> int:
        """Soft-delete one version (or remove a soft-deleted one with ``permanent``).

        ``latest`` is the newest live version for a soft delete and the newest one, soft-deleted
        or not, for a permanent one. A permanent delete never frees the version number: the
        next registration in the subject takes a higher one (Confluent would give a hard-deleted
        latest version's number again; here an agreement citing "version N" must keep meaning
        the schema it was signed for). The same holds after a permanent delete of the subject.
        """
        number = self._version_number(version)
        target = self.get_version(subject, version, deleted=permanent or number is not None)
        with Session(self.engine) as session, session.begin():
            row = session.scalars(
                select(SubjectVersion).where(
                    SubjectVersion.subject == subject, SubjectVersion.version == target.version
                )
            ).one()
            if permanent:
                if not row.deleted:
                    raise VersionNotSoftDeletedError(
                        f"la versión {row.version} de {subject!r} no está borrada lógicamente",
                        hint="bórrela primero sin 'permanent' y repita con ?permanent=true.",
                    )
                self._remember_version(session, subject, row.version)
                session.delete(row)
            elif row.deleted:
                raise VersionSoftDeletedError(
                    f"la versión {row.version} de {subject!r} ya está borrada (borrado lógico)",
                    hint="para borrarla definitivamente añada ?permanent=true.",
                )
            else:
                row.deleted = True
            return row.version

    def registered(self, subject: str, *, deleted: bool = False) -> Sequence[RegisteredSchema]:
        """Every live version of ``subject`` (soft-deleted ones too with ``deleted``), oldest
        first; empty when it has none."""
        with Session(self.engine) as session:
            return [self._registered(session, row) for row in self._rows(session, subject, deleted)]
