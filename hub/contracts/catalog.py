"""The contract catalog: ``avro_schemas/<subject>/{subject.yaml, v1.avsc, v2.avsc, ...}``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from hub.contracts.modes import DEFAULT_MODE, CompatibilityMode, parse_mode
from hub.contracts.schema_text import (
    ParsedSchema,
    canonical_text,
    fingerprint,
    full_name,
    load_definition,
    parse_schema,
)
from hub.errors import ContractError

__all__ = [
    "Catalog",
    "SchemaVersion",
    "Subject",
    "load_catalog",
    "load_subject",
    "missing_docs",
]

_VERSION_FILE = re.compile(r"^v([1-9][0-9]*)\.avsc$")


@dataclass(frozen=True)
class SchemaVersion:
    """One version of a subject's schema, as written in its ``vN.avsc`` file."""

    subject: str
    version: int
    path: Path
    text: str
    definition: Any
    parsed: ParsedSchema

    @cached_property
    def canonical(self) -> str:
        """Canonical text (see :func:`hub.contracts.schema_text.canonical_text`)."""
        return canonical_text(self.definition)

    @cached_property
    def fingerprint(self) -> str:
        """SHA-256 of the canonical text."""
        return fingerprint(self.canonical)


@dataclass(frozen=True)
class Subject:
    """A subject (RecordNameStrategy: the record's full name), its mode and its versions."""

    name: str
    compatibility: CompatibilityMode
    description: str
    path: Path
    versions: tuple[SchemaVersion, ...]

    @property
    def latest(self) -> SchemaVersion:
        """The highest version."""
        return self.versions[-1]

    def version(self, number: int) -> SchemaVersion:
        """Version ``number``; ``ContractError`` when it does not exist."""
        for candidate in self.versions:
            if candidate.version == number:
                return candidate
        raise ContractError(
            f"el subject {self.name} no tiene versión {number}",
            path=self.path,
            hint=f"versiones disponibles: {', '.join(str(v.version) for v in self.versions)}.",
        )


@dataclass(frozen=True)
class Catalog:
    """Every subject of a contracts directory, sorted by name."""

    root: Path
    subjects: tuple[Subject, ...]

    def __iter__(self) -> Iterator[Subject]:
        return iter(self.subjects)

    def __len__(self) -> int:
        return len(self.subjects)

    @property
    def names(self) -> tuple[str, ...]:
        """Subject names."""
        return tuple(subject.name for subject in self.subjects)

    def subject(self, name: str) -> Subject:
        """The subject called ``name``; ``ContractError`` when it is not in the catalog."""
        for subject in self.subjects:
            if subject.name == name:
                return subject
        raise ContractError(
            f"no existe el subject {name!r} en {self.root}",
            hint=f"subjects disponibles: {', '.join(self.names) or 'ninguno'}.",
        )


def _read_subject_yaml(path: Path) -> tuple[CompatibilityMode, str]:
    if not path.is_file():
        raise ContractError(
            "falta subject.yaml",
            path=path,
            hint="cree subject.yaml con 'compatibility:' y 'description:' (en español).",
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ContractError(
            f"subject.yaml no es YAML válido: {getattr(exc, 'problem', exc)}",
            path=path,
            line=mark.line + 1 if mark is not None else None,
        ) from exc
    if not isinstance(data, dict):
        raise ContractError("subject.yaml debe ser un mapa de claves", path=path, line=1)
    unknown = sorted(set(data) - {"compatibility", "description"})
    if unknown:
        raise ContractError(
            f"claves desconocidas en subject.yaml: {', '.join(map(str, unknown))}",
            path=path,
            hint="sólo se admiten 'compatibility' y 'description'.",
        )
    mode = parse_mode(data.get("compatibility", DEFAULT_MODE.value), path=str(path))
    description = data.get("description")
    if not isinstance(description, str) or not description.strip():
        raise ContractError(
            "falta la descripción del subject",
            path=path,
            field="description",
            hint="escriba en 'description:' para qué sirve el contrato, en español.",
        )
    return mode, description.strip()


def _load_version(subject: str, number: int, path: Path) -> SchemaVersion:
    text = path.read_text(encoding="utf-8")
    definition = load_definition(text, path=path)
    parsed = parse_schema(definition, text=text, path=path)
    name = full_name(definition)
    if name != subject:
        raise ContractError(
            f"el registro se llama {name!r} pero la carpeta es {subject!r}",
            path=path,
            line=1,
            hint="con RecordNameStrategy el subject es el nombre completo del registro "
            "(namespace.nombre): renombre la carpeta o el registro.",
        )
    return SchemaVersion(subject, number, path, text, definition, parsed)


def load_subject(directory: Path) -> Subject:
    """Load one subject folder; versions must be v1..vN without gaps."""
    mode, description = _read_subject_yaml(directory / "subject.yaml")
    numbered: dict[int, Path] = {}
    for path in directory.iterdir():
        match = _VERSION_FILE.match(path.name)
        if match:
            numbered[int(match.group(1))] = path
        elif path.suffix == ".avsc":
            raise ContractError(
                "nombre de archivo de esquema no válido",
                path=path,
                hint="nombre las versiones v1.avsc, v2.avsc, ...",
            )
    if not numbered:
        raise ContractError(
            "el subject no tiene versiones", path=directory, hint="agregue v1.avsc."
        )
    expected = list(range(1, len(numbered) + 1))
    if sorted(numbered) != expected:
        raise ContractError(
            f"versiones con huecos: {sorted(numbered)}",
            path=directory,
            hint="las versiones deben ser consecutivas desde v1; no borre versiones publicadas.",
        )
    versions = tuple(_load_version(directory.name, n, numbered[n]) for n in expected)
    return Subject(directory.name, mode, description, directory, versions)


def load_catalog(directory: Path | None = None) -> Catalog:
    """Load every subject under ``directory`` (default: the configured ``schemas_dir``)."""
    if directory is None:
        from hub.settings import Settings

        directory = Settings().schemas_dir
    if not directory.is_dir():
        raise ContractError(
            "no existe el directorio de contratos",
            path=directory,
            hint="indique la carpeta avro_schemas con --dir o SISI_SCHEMAS_DIR.",
        )
    subjects = tuple(
        load_subject(child)
        for child in sorted(directory.iterdir())
        if child.is_dir() and not child.name.startswith((".", "_"))
    )
    return Catalog(directory, subjects)


def missing_docs(definition: Any, where: str = "") -> list[str]:
    """Paths of records, enums and fields without a ``doc`` (every one must say what it is)."""
    missing: list[str] = []
    if isinstance(definition, list):
        for branch in definition:
            missing.extend(missing_docs(branch, where))
    elif isinstance(definition, dict):
        kind = definition.get("type")
        if kind in ("record", "enum", "fixed"):
            here = f"{where}/{definition.get('name')}" if where else str(definition.get("name"))
            if kind != "fixed" and not definition.get("doc"):
                missing.append(here)
            for field in definition.get("fields", []) if kind == "record" else []:
                path = f"{here}.{field.get('name')}"
                if not field.get("doc"):
                    missing.append(path)
                missing.extend(missing_docs(field.get("type"), path))
        elif kind == "array":
            missing.extend(missing_docs(definition.get("items"), where))
        elif kind == "map":
            missing.extend(missing_docs(definition.get("values"), where))
        elif isinstance(kind, dict | list):
            missing.extend(missing_docs(kind, where))
    return missing
