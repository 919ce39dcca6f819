"""Schema evolution checks with the Apache ``avro`` compatibility checker, reported in Spanish."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hub.contracts.catalog import Catalog, Subject, missing_docs
from hub.contracts.modes import CompatibilityMode
from hub.contracts.schema_text import to_apache
from hub.errors import IncompatibleSchemaError

__all__ = [
    "CatalogReport",
    "Problem",
    "check_catalog",
    "check_compatibility",
    "check_subject",
    "ensure_compatible",
    "reader_can_read",
]

_KINDS = {
    "name_mismatch": "el nombre del tipo no coincide",
    "fixed_size_mismatch": "cambió el tamaño de un tipo fixed",
    "missing_enum_symbols": "el lector no conoce símbolos del enum (y el enum no tiene default)",
    "reader_field_missing_default_value": "campo que el escritor no tiene y sin valor por omisión",
    "type_mismatch": "el tipo cambió de forma incompatible",
    "missing_union_branch": "falta una rama de la unión en el lector",
}


@dataclass(frozen=True)
class Problem:
    """One reason a schema version is not acceptable."""

    subject: str
    version: int | None
    message: str
    against: int | None = None
    location: str | None = None

    def render(self) -> str:
        """``subject vN: mensaje (en /ruta)`` in one line."""
        version = f" v{self.version}" if self.version is not None else ""
        where = f" (en {self.location})" if self.location else ""
        return f"{self.subject}{version}: {self.message}{where}"


def _field_path(definition: Any, location: str) -> str:
    """``/fields/3/type/fields/0/type`` as ``person.curp`` where the schema lets us; else as is."""
    node, names = definition, []
    tokens = [token for token in location.split("/") if token]
    try:
        index = 0
        while index < len(tokens):
            token = tokens[index]
            if token == "fields" and index + 1 < len(tokens):
                field = node["fields"][int(tokens[index + 1])]
                names.append(str(field["name"]))
                node = field
                index += 2
                continue
            if token == "type":
                node = node["type"]
                if isinstance(node, list):  # a nullable record: follow the non-null branch
                    node = next(branch for branch in node if branch != "null")
            elif token in ("items", "values"):
                node = node[token]
            index += 1
    except (KeyError, IndexError, TypeError, ValueError, StopIteration):
        return location
    return ".".join(names) or location


def reader_can_read(reader: Any, writer: Any) -> tuple[bool, list[tuple[str, str, str]]]:
    """Whether data written with ``writer`` reads with ``reader`` (JSON definitions).

    Returns the verdict and ``(kind, location, detail)`` for each incompatibility found.
    """
    from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

    checker = ReaderWriterCompatibilityChecker()  # type: ignore[no-untyped-call]  # untyped lib
    result = checker.get_compatibility(to_apache(reader), to_apache(writer))
    if result.compatibility is SchemaCompatibilityType.compatible:
        return True, []
    kinds = [kind.value for kind in result.incompatibilities] or ["type_mismatch"]
    paths = sorted(loc for loc in result.locations if loc != "/") or ["/"]
    location = ", ".join(_field_path(reader, loc) for loc in paths)
    detail = "; ".join(sorted(result.messages))
    return False, [(kind, location, detail) for kind in dict.fromkeys(kinds)]


def check_compatibility(
    candidate: Any,
    previous: Sequence[tuple[int, Any]],
    mode: CompatibilityMode,
    *,
    subject: str = "",
    version: int | None = None,
) -> list[Problem]:
    """Problems of ``candidate`` against ``previous`` ``(version, definition)`` pairs, oldest first.

    Non-transitive modes look only at the latest earlier version; NONE accepts anything.
    """
    if mode is CompatibilityMode.NONE or not previous:
        return []
    targets = previous if mode.transitive else previous[-1:]
    problems: list[Problem] = []
    for number, old in targets:
        directions: list[tuple[Any, Any, str]] = []
        if mode.backward:
            text = f"un lector con la versión nueva no puede leer datos escritos con la v{number}"
            directions.append((candidate, old, text))
        if mode.forward:
            text = f"un lector con la v{number} no puede leer datos escritos con la versión nueva"
            directions.append((old, candidate, text))
        for reader, writer, text in directions:
            ok, found = reader_can_read(reader, writer)
            if ok:
                continue
            for kind, location, detail in found:
                message = f"{text} [{mode.value}]: {_KINDS.get(kind, kind)}"
                if detail:
                    message += f" ({detail})"
                problems.append(Problem(subject, version, message, number, location or None))
    return problems


def ensure_compatible(
    candidate: Any,
    previous: Sequence[tuple[int, Any]],
    mode: CompatibilityMode,
    *,
    subject: str = "",
    version: int | None = None,
) -> None:
    """Raise ``IncompatibleSchemaError`` listing every problem, if there is one."""
    problems = check_compatibility(candidate, previous, mode, subject=subject, version=version)
    if problems:
        raise IncompatibleSchemaError(
            "el esquema no es compatible: " + " | ".join(p.render() for p in problems),
            field=subject or None,
            hint="agregue campos nuevos con 'default', no quite campos sin default ni cambie "
            "tipos; si el cambio es necesario, cree un subject nuevo.",
        )


def check_subject(subject: Subject) -> list[Problem]:
    """Every version of ``subject`` against its predecessors under its mode, plus missing docs."""
    problems: list[Problem] = []
    for index, version in enumerate(subject.versions):
        for path in missing_docs(version.definition):
            problems.append(Problem(subject.name, version.version, f"falta 'doc' en {path}"))
        previous = [(v.version, v.definition) for v in subject.versions[:index]]
        problems.extend(
            check_compatibility(
                version.definition,
                previous,
                subject.compatibility,
                subject=subject.name,
                version=version.version,
            )
        )
    return problems


@dataclass(frozen=True)
class CatalogReport:
    """The outcome of checking a whole catalog: problems per subject (empty when it passes)."""

    results: tuple[tuple[Subject, tuple[Problem, ...]], ...]

    @property
    def ok(self) -> bool:
        """No subject has a problem."""
        return all(not problems for _, problems in self.results)

    @property
    def problems(self) -> list[Problem]:
        """Every problem, subject by subject."""
        return [problem for _, problems in self.results for problem in problems]


def check_catalog(catalog: Catalog) -> CatalogReport:
    """Check every version of every subject."""
    return CatalogReport(
        tuple((subject, tuple(check_subject(subject))) for subject in catalog.subjects)
    )
