"""Read agreement files: YAML with line numbers, every problem reported with file, line and field.

The YAML is composed into nodes first (they keep their marks), turned into plain data, and
validated with the ``Agreement`` model; each pydantic error location (``programs.0.benefit``) is
mapped back to the line of that key in the file. All problems of a file come in one
``AgreementFileError``. A directory's files are loaded one by one (ids must be unique): a file
that does not load keeps its last good version in force, the others apply (``AgreementSet``).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from hub.agreements.model import Agreement, Loc, LocatedError
from hub.errors import AgreementError
from hub.settings import Settings

_log = logging.getLogger(__name__)

__all__ = [
    "AgreementFileError",
    "AgreementIssue",
    "AgreementSet",
    "BrokenFile",
    "LastGood",
    "LoadedAgreement",
    "ReloadResult",
    "agreement_files",
    "load_agreement",
    "load_agreements",
    "parse_agreement",
]


@dataclass(frozen=True)
class AgreementIssue:
    """One problem in one agreement file."""

    path: str
    line: int | None
    field: str | None
    message: str
    hint: str | None = None

    def render(self) -> str:
        """``archivo:línea: campo 'x': mensaje. Qué hacer: ...``"""
        where = self.path + (f":{self.line}" if self.line is not None else "") + ": "
        field = f"campo '{self.field}': " if self.field else ""
        message = self.message
        if self.hint:
            message = message.rstrip(".") + f". Qué hacer: {self.hint}"
        return f"{where}{field}{message}"


class AgreementFileError(AgreementError):
    """Every problem found in one or more agreement files (``issues``), one per line."""

    def __init__(self, issues: list[AgreementIssue]) -> None:
        if not issues:
            raise ValueError("AgreementFileError needs at least one issue")
        self.issues = tuple(issues)
        first = issues[0]
        super().__init__(
            first.message, path=first.path, line=first.line, field=first.field, hint=first.hint
        )

    def render(self) -> str:
        return "\n".join(issue.render() for issue in self.issues)


class _Loader(yaml.SafeLoader):
    """Safe YAML without implicit timestamps: dates stay text so the model reports bad ones."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _parse(path: Path, text: str) -> tuple[Any, dict[Loc, int], list[AgreementIssue]]:
    """Plain data, the line of every key/item, and duplicate-key problems."""
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        column = f", columna {mark.column + 1}" if mark is not None else ""
        problem = exc.problem or exc.context or "error de sintaxis"
        raise AgreementFileError(
            [
                AgreementIssue(
                    str(path),
                    line,
                    None,
                    f"YAML mal formado{column}: {problem}",
                    "revise la sangría, los dos puntos y las comillas en esa línea",
                )
            ]
        ) from exc
    except yaml.YAMLError as exc:
        raise AgreementFileError(
            [AgreementIssue(str(path), None, None, f"YAML ilegible: {exc}")]
        ) from exc
    if node is None:
        raise AgreementFileError(
            [AgreementIssue(str(path), None, None, "el archivo está vacío", "escriba el convenio")]
        )
    lines: dict[Loc, int] = {(): node.start_mark.line + 1}
    issues: list[AgreementIssue] = []
    _index(node, (), lines, issues, str(path))
    constructor = _Loader("")
    try:
        data = constructor.construct_document(node)
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        raise AgreementFileError(
            [
                AgreementIssue(
                    str(path),
                    mark.line + 1 if mark else None,
                    None,
                    f"valor ilegible: {exc.problem}",
                )
            ]
        ) from exc
    finally:
        constructor.dispose()
    return data, lines, issues


def _index(
    node: yaml.Node, loc: Loc, lines: dict[Loc, int], issues: list[AgreementIssue], path: str
) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            child = (*loc, key)
            if child in lines:
                issues.append(
                    AgreementIssue(
                        path,
                        key_node.start_mark.line + 1,
                        ".".join(map(str, child)),
                        f"clave repetida (ya aparece en la línea {lines[child]})",
                        "deje una sola",
                    )
                )
                continue
            lines[child] = key_node.start_mark.line + 1
            _index(value_node, child, lines, issues, path)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[(*loc, i)] = item.start_mark.line + 1
            _index(item, (*loc, i), lines, issues, path)


def _line_of(loc: Loc, lines: dict[Loc, int]) -> int | None:
    """The line of ``loc``, or of its nearest ancestor that is in the file."""
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _validation_issues(
    path: Path, exc: ValidationError, lines: dict[Loc, int]
) -> list[AgreementIssue]:
    issues: list[AgreementIssue] = []
    errors = exc.errors()
    failed_locs = [tuple(e["loc"]) for e in errors]
    for error in errors:
        loc: Loc = tuple(part for part in error["loc"] if not _is_union_tag(part))
        if error["type"] == "too_short" and any(
            len(other) > len(error["loc"]) and other[: len(error["loc"])] == error["loc"]
            for other in failed_locs
        ):
            continue  # a list reported short only because one of its items failed
        original = (error.get("ctx") or {}).get("error")
        entries: tuple[tuple[Loc, str | None], ...] = (((), None),)
        if isinstance(original, LocatedError):
            entries = original.issues
        for sub_loc, sub_message in entries:
            full = (*loc, *sub_loc)
            message, hint = describe_error(error, full, sub_message)
            issues.append(
                AgreementIssue(
                    str(path),
                    _line_of(full, lines),
                    ".".join(map(str, full)) or None,
                    message,
                    hint,
                )
            )
    issues.sort(key=lambda issue: (issue.line or 0, issue.field or ""))
    return issues


def _is_union_tag(part: str | int) -> bool:
    """Pydantic inserts type names (``function-after[...]``) into some locations."""
    return isinstance(part, str) and ("[" in part or part in {"str", "int", "none"})


_DATE_ERRORS = {
    "date_parsing",
    "date_type",
    "date_from_datetime_parsing",
    "date_from_datetime_inexact",
}
_NUMBER_ERRORS = {"int_parsing", "int_type", "float_parsing", "float_type", "decimal_parsing"}
_PATTERN_HINTS = {
    "id": "use mayúsculas, dígitos y guiones, p. ej. CONV-BIENESTAR-PAM-2026",
    "subject": "use el nombre completo del contrato Avro, p. ej. mx.gob.sisi.padron.ChangeSet",
    "state": "use la clave INEGI de la entidad con 2 dígitos, p. ej. '15'",
    "municipality": "use la clave INEGI del municipio con 3 dígitos, p. ej. '020'",
}


def describe_error(error: ErrorDetails, loc: Loc, located: str | None) -> tuple[str, str | None]:
    """A pydantic error as (Spanish message, what to do)."""
    if located is not None:
        return located, None
    kind = error["type"]
    ctx = error.get("ctx") or {}
    given = error.get("input")
    last = loc[-1] if loc else ""
    if kind == "missing":
        return "falta este campo obligatorio", "agréguelo en esta sección"
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        valid = (
            ", ".join(f.alias or name for name, f in model.model_fields.items())
            if model is not None
            else None
        )  # the names the file uses (``public_key``, not the attribute behind it)
        hint = f"quítelo o corrija el nombre; aquí se admiten: {valid}" if valid else "quítelo"
        return "campo desconocido", hint
    if kind in _DATE_ERRORS:
        return f"fecha inválida: {given!r}", "use el formato AAAA-MM-DD, p. ej. 2026-01-31"
    if kind == "literal_error":
        return f"valor no permitido: {given!r}", f"use uno de: {ctx.get('expected')}"
    if kind == "string_pattern_mismatch":
        hint = _PATTERN_HINTS.get(str(last), f"debe cumplir el patrón {ctx.get('pattern')}")
        return f"{given!r} no tiene el formato esperado", hint
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, "), None
    if kind in _NUMBER_ERRORS:
        return f"se esperaba un número, no {given!r}", None
    if kind in {"string_type"}:
        return f"se esperaba texto, no {given!r}", "escríbalo entre comillas"
    if kind in {"bool_parsing", "bool_type"}:
        return f"se esperaba true o false, no {given!r}", None
    if kind in {"model_type", "dict_type", "model_attributes_type"}:
        return "se esperaba una sección de claves y valores", None
    if kind in {"list_type", "tuple_type"}:
        return "se esperaba una lista", "escriba cada elemento en su línea con '- '"
    if kind == "string_too_short":
        return f"texto demasiado corto (mínimo {ctx.get('min_length')} caracteres)", None
    if kind == "too_short":
        return f"se necesita al menos {ctx.get('min_length')} elemento(s)", None
    if kind in {"greater_than_equal", "greater_than"}:
        return f"{given!r} es demasiado pequeño (mínimo {ctx.get('ge', ctx.get('gt'))})", None
    if kind in {"less_than_equal", "less_than"}:
        return f"{given!r} es demasiado grande (máximo {ctx.get('le', ctx.get('lt'))})", None
    return str(error["msg"]), None


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The model class found at ``loc`` inside ``Agreement``, if any."""
    current: Any = Agreement
    for part in loc:
        current = _strip_optional(current)
        origin = get_origin(current)
        if origin in (tuple, list):
            current = get_args(current)[0]
        elif origin is dict:
            current = get_args(current)[1]
        elif (
            isinstance(current, type)
            and issubclass(current, BaseModel)
            and isinstance(part, str)
            and (field := _field_named(current, part)) is not None
        ):
            current = field.annotation
        else:
            return None
    current = _strip_optional(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _field_named(model: type[BaseModel], name: str) -> FieldInfo | None:
    """The field a file names ``name``: by its alias, else by its attribute name."""
    for info in model.model_fields.values():
        if info.alias == name:
            return info
    return model.model_fields.get(name)


def _strip_optional(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def load_agreement(path: Path | str) -> Agreement:
    """Load and validate one agreement file; every problem in one ``AgreementFileError``."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise AgreementFileError(
            [AgreementIssue(str(path), None, None, "no existe el archivo", "revise la ruta")]
        ) from exc
    except OSError as exc:
        raise AgreementFileError(
            [
                AgreementIssue(
                    str(path), None, None, f"no se pudo leer: {exc}", "revise sus permisos"
                )
            ]
        ) from exc
    return parse_agreement(path, raw)


def parse_agreement(path: Path, raw: bytes) -> Agreement:
    """Validate the bytes ``raw`` read from ``path`` (named in the problems)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AgreementFileError(
            [AgreementIssue(str(path), None, None, f"no se pudo leer: {exc}", "guárdelo en UTF-8")]
        ) from exc
    data, lines, issues = _parse(path, text)
    if not isinstance(data, dict):
        issues.append(
            AgreementIssue(str(path), 1, None, "el convenio debe ser un mapeo de claves y valores")
        )
        raise AgreementFileError(issues)
    try:
        agreement = Agreement.model_validate(data)
    except ValidationError as exc:
        raise AgreementFileError(issues + _validation_issues(path, exc, lines)) from exc
    if issues:
        raise AgreementFileError(issues)
    return agreement


def agreement_files(directory: Path | str) -> list[Path]:
    """The agreement files of a directory (``*.yaml``, ``*.yml``), sorted by name."""
    folder = Path(directory)
    if not folder.is_dir():
        raise AgreementFileError(
            [
                AgreementIssue(
                    str(folder),
                    None,
                    None,
                    "no existe el directorio de convenios",
                    "indique la carpeta correcta (SISI_AGREEMENTS_DIR)",
                )
            ]
        )
    return sorted(p for p in folder.iterdir() if p.suffix in {".yaml", ".yml"} and p.is_file())


def _digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True)
class LoadedAgreement:
    """An agreement in force, the file it came from and the SHA-256 of the bytes parsed.

    ``raw``: those bytes. ``stored``: the version came from the hub's store of audited versions
    (its file did not load when this process first looked at it), not from the file.
    """

    agreement: Agreement
    path: Path
    sha256: str
    raw: bytes = field(default=b"", repr=False, compare=False)
    stored: bool = field(default=False, compare=False)


#: Where a set finds the last good version of a file that does not load when the process has
#: none in memory (``hub.worker.versions.StoredVersions``: the version the audit log names).
LastGood = Callable[[Path], "LoadedAgreement | None"]


@dataclass(frozen=True)
class BrokenFile:
    """An agreement file that does not load as it is now.

    ``sha256`` is of the bytes that failed (None when the file could not be read);
    ``previous`` is the version of this file that stays in force, if one ever loaded.
    """

    path: Path
    sha256: str | None
    error: AgreementFileError
    previous: LoadedAgreement | None = None

    def render(self) -> str:
        """The problems, one per line, and what stays in force."""
        if self.previous is not None and self.previous.stored:
            stays = (
                f"sigue en vigor su última versión buena, la registrada en la bitácora de "
                f"auditoría ({self.previous.agreement.id}, sha256 {self.previous.sha256[:12]}), "
                "hasta que se corrija"
            )
        elif self.previous is not None:
            stays = (
                f"sigue en vigor su versión anterior ({self.previous.agreement.id}, "
                f"sha256 {self.previous.sha256[:12]}) hasta que se corrija"
            )
        else:
            stays = "no está en vigor: corríjalo y se cargará sin reiniciar el hub"
        return f"{self.error.render()}\n  ({self.path.name}: {stays})"


@dataclass(frozen=True)
class ReloadResult:
    """What one look at the directory changed.

    ``changed``: the agreements in force changed (one added, removed or loaded from other
    bytes). ``broken``: files that do not load, newly or in a new way (each state once).
    ``fixed``: files that were broken and now load or are gone.
    """

    changed: bool = False
    broken: tuple[BrokenFile, ...] = ()
    fixed: tuple[Path, ...] = ()


#: The last version of each file that loaded in this process, by (directory, file name): a
#: set built later over the same directory (the topic watch's) keeps it for a broken file too.
_LAST_GOOD: dict[tuple[Path, str], LoadedAgreement] = {}
_LAST_GOOD_LOCK = threading.Lock()


def _read(path: Path) -> tuple[bytes | None, AgreementFileError | None]:
    """The file's bytes, or the problem reading it; ``(None, None)`` when it is gone."""
    try:
        return path.read_bytes(), None
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        issue = AgreementIssue(
            str(path), None, None, f"no se pudo leer: {exc}", "revise sus permisos"
        )
        return None, AgreementFileError([issue])


def _id_line_in(path: Path, raw: bytes) -> int | None:
    try:
        _data, lines, _issues = _parse(path, raw.decode("utf-8"))
    except (AgreementFileError, UnicodeDecodeError):
        return None
    return lines.get(("id",))


class AgreementSet:
    """The agreements of a directory, by id, reloaded file by file.

    Each file stands alone: one that does not load keeps the version of it loaded before (or
    stays out if none ever loaded) while the other files' changes apply. Every agreement in force
    carries the SHA-256 of the exact bytes it was parsed from (:meth:`loaded`). Building a set
    raises ``AgreementFileError`` only when the directory is missing or no file loads while some
    are broken; :attr:`broken` names the files that do not load.

    With ``last_good``, a broken file of which this process holds no good version (a worker that
    just started) keeps the version ``last_good`` gives for it (the one the hub audited last), so
    the same version stays in force across restarts and in every worker. A file that loads is
    never replaced by a kept version: files that load take their ids first.
    """

    def __init__(self, directory: Path | str, last_good: LastGood | None = None) -> None:
        self.directory = Path(directory)
        self.last_good = last_good
        self._lock = threading.Lock()
        self._by_id: dict[str, LoadedAgreement] = {}
        #: Per file name: the digest of the bytes last parsed and what they gave.
        self._parsed: dict[str, tuple[str | None, Agreement | AgreementFileError]] = {}
        #: Per file name: its version in force (kept while the file is broken).
        self._good: dict[str, LoadedAgreement] = {}
        self._broken: dict[str, BrokenFile] = {}
        agreement_files(self.directory)  # a missing directory raises
        key = self._cache_dir()
        with _LAST_GOOD_LOCK:
            self._good = {name: v for (folder, name), v in _LAST_GOOD.items() if folder == key}
        self.reload()
        if self._broken and not self._by_id:
            raise AgreementFileError([i for b in self._broken.values() for i in b.error.issues])

    def _cache_dir(self) -> Path:
        try:
            return self.directory.resolve()
        except OSError:
            return self.directory.absolute()

    def reload(self) -> ReloadResult:
        """Look at the files again; what changed. Never raises for a broken file or directory."""
        with self._lock:
            return self._reload()

    def _reload(self) -> ReloadResult:
        try:
            paths = agreement_files(self.directory)
        except AgreementFileError as exc:  # the directory is gone: keep everything
            gone = BrokenFile(self.directory, None, exc)
            return self._report({**self._broken, "": gone})
        read: dict[str, tuple[Path, bytes, str | None, Agreement | AgreementFileError]] = {}
        for path in paths:
            raw, problem = _read(path)
            if raw is None and problem is None:
                continue  # removed since listed
            digest = _digest(raw) if raw is not None else None
            cached = self._parsed.get(path.name)
            if problem is not None:
                result: Agreement | AgreementFileError = problem
            elif cached is not None and cached[0] == digest:
                result = cached[1]
            else:
                assert raw is not None
                try:
                    result = parse_agreement(path, raw)
                except AgreementFileError as exc:
                    result = exc
            self._parsed[path.name] = (digest, result)
            read[path.name] = (path, raw or b"", digest, result)
        for name in set(self._parsed) - set(read):
            del self._parsed[name]
        previous_owner = {loaded.agreement.id: loaded.path.name for loaded in self._by_id.values()}

        def order(name: str) -> tuple[int, str]:
            result = read[name][3]
            own = isinstance(result, Agreement) and previous_owner.get(result.id) == name
            return (0 if own else 1, name)

        by_id: dict[str, LoadedAgreement] = {}
        good: dict[str, LoadedAgreement] = {}
        broken: dict[str, BrokenFile] = {}
        failed: list[str] = []
        for name in sorted(read, key=order):  # the files that load first: they own their ids
            path, raw, digest, result = read[name]
            if isinstance(result, Agreement) and result.id not in by_id:
                assert digest is not None
                loaded = LoadedAgreement(result, path, digest, raw)
                by_id[result.id] = good[name] = loaded
            else:
                failed.append(name)
        for name in failed:
            path, raw, digest, result = read[name]
            fallback = self._good.get(name)
            if fallback is None or fallback.stored:  # what the hub audited last, if it has it
                fallback = self._stored(path) or fallback
            if isinstance(result, Agreement):
                result = AgreementFileError(
                    [
                        AgreementIssue(
                            str(path),
                            _id_line_in(path, raw),
                            "id",
                            f"el id '{result.id}' ya lo usa {by_id[result.id].path}",
                            "cada convenio necesita un id único",
                        )
                    ]
                )
            if fallback is not None and fallback.agreement.id in by_id:
                fallback = None
            if fallback is not None:
                by_id[fallback.agreement.id] = good[name] = fallback
            broken[name] = BrokenFile(path, digest, result, fallback)
        changed = {i: v.sha256 for i, v in by_id.items()} != {
            i: v.sha256 for i, v in self._by_id.items()
        }
        self._by_id = by_id
        self._good = good
        key = self._cache_dir()
        with _LAST_GOOD_LOCK:
            for folder, name in [k for k in _LAST_GOOD if k[0] == key and k[1] not in good]:
                del _LAST_GOOD[(folder, name)]
            _LAST_GOOD.update({(key, name): loaded for name, loaded in good.items()})
        return self._report(broken, changed=changed)

    def _stored(self, path: Path) -> LoadedAgreement | None:
        if self.last_good is None:
            return None
        try:
            return self.last_good(path)
        except Exception:  # a database that does not answer must not stop the reload
            _log.exception("no se pudo leer la última versión buena guardada de %s", path)
            return None

    def _report(self, broken: dict[str, BrokenFile], *, changed: bool = False) -> ReloadResult:
        def state(item: BrokenFile) -> tuple[str | None, str, str | None]:
            previous = item.previous.sha256 if item.previous is not None else None
            return item.sha256, item.error.render(), previous

        new = tuple(
            item
            for name, item in sorted(broken.items())
            if name not in self._broken or state(self._broken[name]) != state(item)
        )
        fixed = tuple(self._broken[name].path for name in sorted(set(self._broken) - set(broken)))
        self._broken = broken
        return ReloadResult(changed, new, fixed)

    @property
    def broken(self) -> tuple[BrokenFile, ...]:
        """The files (or the directory) that do not load as they are now, by name."""
        return tuple(item for _name, item in sorted(self._broken.items()))

    def loaded(self) -> list[LoadedAgreement]:
        """The agreements in force with their files and digests, by id."""
        by_id = self._by_id
        return [by_id[agreement_id] for agreement_id in sorted(by_id)]

    def __iter__(self) -> Iterator[Agreement]:
        return iter([loaded.agreement for loaded in self._by_id.values()])

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, agreement_id: object) -> bool:
        return agreement_id in self._by_id

    @property
    def ids(self) -> tuple[str, ...]:
        """Agreement ids, sorted."""
        return tuple(sorted(self._by_id))

    def get(self, agreement_id: str) -> Agreement:
        """The agreement ``agreement_id``; unknown ids raise ``AgreementError``."""
        try:
            return self._by_id[agreement_id].agreement
        except KeyError:
            known = ", ".join(self.ids) or "(ninguno)"
            hint = f"use uno de los convenios registrados: {known}"
            broken = [item.path.name for item in self.broken if item.previous is None]
            if broken:
                hint += (
                    f"; no cargan (revíselos con 'sisi agreements validate'): {', '.join(broken)}"
                )
            raise AgreementError(
                f"convenio desconocido: '{agreement_id}'", field="agreement_id", hint=hint
            ) from None

    def path_of(self, agreement_id: str) -> Path:
        """The file an agreement was read from."""
        self.get(agreement_id)
        return self._by_id[agreement_id].path

    def for_program(self, key: str) -> list[Agreement]:
        """Agreements that include program ``key``."""
        return [a for a in self if a.program(key) is not None]


def load_agreements(directory: Path | str | None = None) -> AgreementSet:
    """All agreements of ``directory`` (default: ``settings.agreements_dir``)."""
    return AgreementSet(directory if directory is not None else Settings().agreements_dir)
