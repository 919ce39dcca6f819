"""Map raw rows to canonical records with a layout compiled once per file.

``compile_layout`` resolves every column name to an index once (a missing column stops the file
with an ``InputFileError`` naming the missing and the found columns) and builds a flat plan of
``(field, index, converter)``; ``RowMapper.map`` then only walks that plan. Per-field problems
become ``ValidationIssue``s on the record, never exceptions: one bad cell does not stop a file.

After the plain fields come the fields that need several cells: amounts summed over
``columns``, INEGI geography normalised against the INEGI catalog
(``GeoCatalog.normalize_geography``: ``cvegeo`` or ``cve_ent``/``cve_mun``/``cve_loc``, padded or
not, into ``cve_ent``, ``cve_mun`` and ``cve_loc``; ``cvegeo`` is kept only when the keys cannot
be read, next to the other raw keys, so that the agency sees what it wrote), and fields
derived from a structurally valid CURP (birth date, sex and the RENAPO state code).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import repeat
from typing import Final

from hub.agreements.layout import FieldSource, FileLayout
from hub.errors import InputFileError
from hub.validation.curp import decode_curp
from hub.validation.geography import GeoCatalog
from hub.validation.issues import ValidationIssue
from producers.mapping.converters import (
    AMOUNT_FIELDS,
    DATE_FIELDS,
    Converter,
    FieldConversionError,
    amount_converter,
    fold,
    is_identity,
    make_converter,
)
from producers.mapping.sniff import delimiter_name, describe_layout, guess_delimiter

__all__ = ["ROW_COLUMNS", "MappedRecord", "RowMapper", "compile_layout", "ragged_row_message"]

_GEOGRAPHY: Final = ("cve_ent", "cve_mun", "cve_loc", "cvegeo")
#: Issue "field" for problems of the whole row (wrong number of columns).
ROW: Final = "fila"
#: The code of a row with another number of columns than the file's: its only issue.
ROW_COLUMNS: Final = "ROW_COLUMNS"
#: Fields whose values rarely repeat: not worth memoizing.
_UNIQUE: Final = frozenset({"reference_id", "curp", "domicilio", "folio_hogar"})
_MEMO_LIMIT: Final = 20_000
_MISS: Final = object()


@dataclass(frozen=True, slots=True)
class MappedRecord:
    """One row of the agency's file as canonical values, with the problems found in it."""

    line: int
    values: dict[str, object]
    issues: list[ValidationIssue] = field(default_factory=list)


def _issue(field_name: str, exc: ValueError) -> ValidationIssue:
    reported = getattr(exc, "issue", None)  # hub.validation's own errors carry their issue
    if isinstance(reported, ValidationIssue):
        return reported
    if isinstance(exc, FieldConversionError):
        code = exc.code
    elif field_name in DATE_FIELDS:
        code = "DATE_FORMAT"
    elif field_name in AMOUNT_FIELDS:
        code = "AMOUNT_FORMAT"
    else:
        code = "VALUE_INVALID"
    return ValidationIssue(field_name, code, str(exc), "error")


class RowMapper:
    """A layout compiled against one file's header: ``map(line, row) -> MappedRecord``."""

    def __init__(
        self,
        *,
        plan: list[tuple[str, int, Converter]],
        sums: list[tuple[str, tuple[int, ...], Callable[[str], Decimal]]],
        constants: dict[str, object],
        geography: GeoCatalog | None,
        derive: tuple[str, ...],
        width: int | None,
        needed: int,
        file_name: str | None = None,
        delimiter: str | None = None,
    ) -> None:
        # (field, index, converter, memo): repeated texts (dates, codes, amounts, names) convert
        # once; a memo is emptied when full, so memory stays bounded whatever the file size
        self._plan: tuple[tuple[str, int, Converter, dict[str, object] | None], ...] = tuple(
            (name, index, convert, None if name in _UNIQUE else {"": None})
            for name, index, convert in plan
        )
        geography_names = _GEOGRAPHY if geography is not None else ()
        self._sums = tuple(sums)
        self._template: dict[str, object] = {name: None for name, _, _ in plan}
        self._template.update({name: None for name, _, _ in sums})
        self._template.update({name: None for name in derive})
        self._template.update(constants)
        # for ``map_many``: the fields read from a column other than geography, then the rest
        # of the template in its order (geography goes last, as ``_map_geography`` leaves it)
        self._plain_names = tuple(name for name, _, _ in plan if name not in geography_names)
        self._rest = {
            name: value
            for name, value in self._template.items()
            if name not in self._plain_names and name not in geography_names
        }
        self._geography = geography
        self._derive = derive
        self._width = width
        self._needed = needed
        self._file_name = file_name
        self._delimiter = delimiter

    @property
    def fields(self) -> tuple[str, ...]:
        """The canonical fields every mapped record carries."""
        names = [n for n in self._template if n != "cvegeo"]
        if self._geography is not None:
            names += [n for n in ("cve_ent", "cve_mun", "cve_loc") if n not in names]
        return tuple(names)

    def map(self, line: int, row: Sequence[str]) -> MappedRecord:
        """The canonical values of one raw row; problems go to ``issues``."""
        values = self._template.copy()
        issues: list[ValidationIssue] = []
        size = len(row)
        if size < self._needed or (self._width is not None and size > self._width):
            return self._ragged(line, row)
        for name, index, convert, memo in self._plan:
            if index < size:
                text = row[index].strip()
                if text:
                    if memo is not None:
                        value = memo.get(text, _MISS)
                        if value is not _MISS:
                            values[name] = value
                            continue
                    try:
                        value = convert(text)
                    except ValueError as exc:
                        issues.append(_issue(name, exc))
                        continue
                    values[name] = value
                    if memo is not None:
                        self._remember(memo, text, value)
        self._finish(row, values, issues)
        return MappedRecord(line, values, issues)

    def _ragged(self, line: int, row: Sequence[str]) -> MappedRecord:
        """A row with too few or too many columns: one ``ROW_COLUMNS`` issue and nothing else.

        Its cells are shifted, so every field read from it would be wrong in a misleading way
        (a date read as an amount, an address as a locality key). Only the reference is kept,
        when it reads, so that the report names the row and the row is not taken for a BAJA.
        """
        values = self._template.copy()
        for name, index, convert, _ in self._plan:
            if name == "reference_id" and index < len(row) and row[index].strip():
                with suppress(ValueError):  # then the report shows no reference
                    values[name] = convert(row[index].strip())
        message = ragged_row_message(
            len(row),
            self._width,
            self._needed,
            line=line,
            file_name=self._file_name,
            delimiter=self._delimiter,
        )
        issue = ValidationIssue(ROW, "ROW_COLUMNS", message, "error")  # the code is ROW_COLUMNS
        return MappedRecord(line, values, [issue])

    def map_many(
        self, rows: Sequence[tuple[int, Sequence[str]]]
    ) -> tuple[list[dict[str, object]], list[list[ValidationIssue]]]:
        """``map`` of many rows: the same values and issues, each field converted for all the
        rows at once (its memo answers a whole column in one step once its texts are known).

        Returns the rows' values and issues, in order. Rows whose number of columns is off go
        through ``map`` one by one.
        """
        if not rows:
            return [], []
        width, needed = self._width, self._needed
        texts = [row for _, row in rows]
        sizes = list(map(len, texts))
        if min(sizes) < needed or (width is not None and max(sizes) > width):
            return self._map_mixed(rows, sizes)
        count = len(texts)
        issues: list[list[ValidationIssue]] = [[] for _ in range(count)]
        columns = list(zip(*texts, strict=False))  # every used index is below the shortest row
        converted = {column[0]: self._column(column, columns, issues) for column in self._plan}
        names = self._plain_names
        plain = zip(*(converted[name] for name in names), strict=True) if names else [()] * count
        rest = self._rest
        geography = self._geography
        if geography is not None:
            raw = [
                converted[name] if name in converted else [self._template.get(name)] * count
                for name in _GEOGRAPHY
            ]
            found = list(map(geography.normalized_geography, *raw))
            places = zip(found, *raw, strict=True)
        everything: list[dict[str, object]] = []
        for i, row_values in enumerate(plain):
            values = dict(zip(names, row_values, strict=True))
            values.update(rest)
            problems = issues[i]
            if self._sums:
                self._map_sums(texts[i], values, problems)
            if geography is not None:
                (key, geo_issues), ent, mun, loc, cvegeo = next(places)
                if key is not None:
                    values["cve_ent"] = key.cve_ent
                    values["cve_mun"] = key.cve_mun
                    values["cve_loc"] = key.cve_loc
                else:
                    values["cve_ent"], values["cve_mun"], values["cve_loc"] = ent, mun, loc
                    if cvegeo is not None:
                        values["cvegeo"] = cvegeo
                if geo_issues:
                    problems.extend(geo_issues)
            if self._derive:
                self._derive_from_curp(values)
            everything.append(values)
        return everything, issues

    def _map_mixed(
        self, rows: Sequence[tuple[int, Sequence[str]]], sizes: list[int]
    ) -> tuple[list[dict[str, object]], list[list[ValidationIssue]]]:
        """``map_many`` when some rows have too few or too many columns."""
        width, needed = self._width, self._needed
        regular = [i for i, n in enumerate(sizes) if n >= needed and (width is None or n <= width)]
        values: list[dict[str, object]] = [{} for _ in rows]
        issues: list[list[ValidationIssue]] = [[] for _ in rows]
        if regular:
            found_values, found_issues = self.map_many([rows[i] for i in regular])
            for i, found, problems in zip(regular, found_values, found_issues, strict=True):
                values[i], issues[i] = found, problems
        done = set(regular)
        for i, (line, row) in enumerate(rows):
            if i not in done:
                record = self.map(line, row)
                values[i], issues[i] = record.values, record.issues
        return values, issues

    def _column(
        self,
        planned: tuple[str, int, Converter, dict[str, object] | None],
        columns: list[tuple[str, ...]],
        issues: list[list[ValidationIssue]],
    ) -> list[object]:
        """One field's values for every row (conversion problems go to the rows' issues)."""
        name, index, convert, memo = planned
        texts = list(map(str.strip, columns[index]))
        if memo is not None:
            try:
                return list(map(memo.__getitem__, texts))  # "" is in the memo too: None
            except KeyError:
                pass
            found = list(map(memo.get, texts, repeat(_MISS)))
            for i, value in enumerate(found):
                if value is _MISS:
                    text = texts[i]
                    try:
                        found[i] = convert(text)
                    except ValueError as exc:
                        issues[i].append(_issue(name, exc))
                        found[i] = None
                        continue
                    self._remember(memo, text, found[i])
            return found
        if convert is _keep or is_identity(convert):
            return [text or None for text in texts]
        values: list[object] = []
        for i, text in enumerate(texts):
            value = None
            if text:
                try:
                    value = convert(text)
                except ValueError as exc:
                    issues[i].append(_issue(name, exc))
            values.append(value)
        return values

    @staticmethod
    def _remember(memo: dict[str, object], text: str, value: object) -> None:
        if len(memo) >= _MEMO_LIMIT:
            memo.clear()
            memo[""] = None  # an empty cell leaves the field empty (``map`` never asks)
        memo[text] = value

    def _finish(
        self, row: Sequence[str], values: dict[str, object], issues: list[ValidationIssue]
    ) -> None:
        """Summed amounts, geography and CURP-derived fields, after the plain fields."""
        self._map_sums(row, values, issues)
        if self._geography is not None:
            self._map_geography(values, issues)
        if self._derive:
            self._derive_from_curp(values)

    def _map_sums(
        self, row: Sequence[str], values: dict[str, object], issues: list[ValidationIssue]
    ) -> None:
        size = len(row)
        for name, indexes, convert in self._sums:
            total: Decimal | None = None
            for index in indexes:
                text = row[index].strip() if index < size else ""
                if text:
                    try:
                        amount = convert(text)
                    except ValueError as exc:
                        issues.append(_issue(name, exc))
                        total = None
                        break
                    total = amount if total is None else total + amount
            values[name] = total

    def _map_geography(self, values: dict[str, object], issues: list[ValidationIssue]) -> None:
        pop = values.pop
        raw = (pop("cve_ent", None), pop("cve_mun", None), pop("cve_loc", None))
        cvegeo = pop("cvegeo", None)
        assert self._geography is not None
        # memoized by the catalog, which also answers the validation's lookup of the padded keys
        found = self._geography.normalized_geography(*raw, cvegeo)
        key = found[0]
        if key is not None:
            values["cve_ent"] = key.cve_ent
            values["cve_mun"] = key.cve_mun
            values["cve_loc"] = key.cve_loc
        else:
            # keep what the agency wrote, so that its report shows the offending keys
            values["cve_ent"], values["cve_mun"], values["cve_loc"] = raw
            if cvegeo is not None:
                values["cvegeo"] = cvegeo
        if found[1]:
            issues.extend(found[1])

    def _derive_from_curp(self, values: dict[str, object]) -> None:
        curp = values.get("curp")
        if not isinstance(curp, str):
            return
        try:
            parts = decode_curp(curp)
        except ValueError:
            return  # validation reports the CURP itself; nothing to derive from it
        derived: dict[str, object] = {
            "fecha_nacimiento": parts.birth_date,
            "sexo": parts.sex,
            "entidad_nacimiento": parts.state,
        }
        for name in self._derive:
            values[name] = derived[name]


def _resolve(ref: str | int, index_of: dict[str, int] | None) -> int | str:
    """The 0-based index of a column reference, or the reference itself when it is missing."""
    if isinstance(ref, int):
        return ref - 1
    if index_of is None:
        return ref
    found = index_of.get(ref.strip())
    if found is None:
        found = index_of.get(fold(ref))
    return ref if found is None else found


def compile_layout(
    layout: FileLayout,
    header: Sequence[str] | None,
    *,
    catalog: GeoCatalog | None = None,
    file_name: str | None = None,
) -> RowMapper:
    """Resolve the layout's columns against ``header`` once; ``InputFileError`` if any is missing.

    ``header`` is the file's header row, or None for files read by position. ``catalog``
    normalises geography (default: ``GeoCatalog.load()``, the settings' reference data).
    ``file_name`` is the file's name, for the message of a row with another number of columns.
    """
    index_of: dict[str, int] | None = None
    if header is not None:
        index_of = {}
        for i, column in enumerate(header):
            index_of.setdefault(column.strip(), i)
            index_of.setdefault(fold(column), i)
    plan: list[tuple[str, int, Converter]] = []
    sums: list[tuple[str, tuple[int, ...], Callable[[str], Decimal]]] = []
    constants: dict[str, object] = {}
    derive: list[str] = []
    missing: list[str] = []
    for name, source in layout.fields.items():
        convert = _geo_or_converter(name, source, layout)
        if source.constant is not None:
            constants[name] = _constant(name, source.constant, convert)
        elif source.derive is not None:
            derive.append(name)
        elif source.columns is not None:
            indexes = [_resolve(ref, index_of) for ref in source.columns]
            missing += [str(i) for i in indexes if isinstance(i, str)]
            if name not in AMOUNT_FIELDS:
                raise InputFileError(
                    "'columns' solo suma montos; este campo no es un monto",
                    field=name,
                    hint="use 'column' o 'position' para este campo en el convenio",
                )
            positions = tuple(i for i in indexes if isinstance(i, int))
            sums.append((name, positions, amount_converter(name, layout)))
        else:
            ref: str | int = source.column if source.column is not None else source.position  # type: ignore[assignment]
            index = _resolve(ref, index_of)
            if isinstance(index, str):
                missing.append(index)
            else:
                plan.append((name, index, convert))
    if missing:
        raise _missing_columns(layout, header, missing)
    used = [i for _, i, _ in plan] + [i for _, idx, _ in sums for i in idx]
    needed = max(used, default=-1) + 1
    geography = None
    if any(name in layout.fields for name in _GEOGRAPHY):
        geography = catalog if catalog is not None else GeoCatalog.load()
    width = len(header) if header is not None and layout.format != "xlsx" else None
    if layout.format == "xlsx":
        needed = 0  # Excel drops trailing empty cells; short rows are not ragged
    return RowMapper(
        plan=plan,
        sums=sums,
        constants=constants,
        geography=geography,
        derive=tuple(derive),
        width=width,
        needed=needed,
        file_name=file_name,
        delimiter=layout.effective_delimiter if layout.format != "xlsx" else None,
    )


def _columns(count: int) -> str:
    return f"{count} columna" if count == 1 else f"{count} columnas"


def ragged_row_message(
    size: int,
    width: int | None,
    needed: int,
    *,
    line: int,
    file_name: str | None = None,
    delimiter: str | None = None,
) -> str:
    """Why a row with ``size`` columns is refused, and what to look at.

    ``width`` is the header's number of columns (None for a file read by position, which may
    carry more columns than it uses), ``needed`` the columns the layout reads.
    """
    where = f"la línea {line:,}" + (f" de {file_name}" if file_name else "")
    if width is not None:
        expected = f"el encabezado del archivo tiene {_columns(width)}"
    else:
        expected = f"el formato del convenio espera {_columns(needed)}"
    separated = f" separadas por {delimiter_name(delimiter)}" if delimiter and size > 1 else ""
    found = f"{where} tiene {_columns(size)}{separated} y {expected}"
    if width is not None and size > width:
        extra = size - width
        if delimiter == "|":
            hint = (
                f"sobra{'' if extra == 1 else 'n'} {_columns(extra)}: probablemente un valor "
                "(un domicilio, un nombre) contiene el carácter |; quítelo de ese valor"
            )
        elif delimiter:
            hint = (
                f"sobra{'' if extra == 1 else 'n'} {_columns(extra)}: probablemente un valor "
                f"(un domicilio, un nombre) contiene {delimiter_name(delimiter)}; encierre ese "
                "valor entre comillas dobles o quite el separador"
            )
        else:
            hint = f"sobra{'' if extra == 1 else 'n'} {_columns(extra)}"
    else:
        missing = (width if width is not None else needed) - size
        if size == 1 and delimiter:
            hint = (
                f"la fila no trae ningún separador ({delimiter_name(delimiter)}): revise si "
                "está separada por otro carácter o si es una línea cortada"
            )
        else:
            hint = (
                f"falta{'' if missing == 1 else 'n'} {_columns(missing)}: revise si se borró "
                "una columna o un separador, o si la línea quedó cortada"
            )
    return f"{found}; {hint}. Los valores de esta fila no se revisaron"


def _missing_columns(
    layout: FileLayout, header: Sequence[str] | None, missing: list[str]
) -> InputFileError:
    """Missing columns; when the header is one long column that another delimiter splits, the
    file is of another layout, and the message says so."""
    found = ", ".join(header or [])
    if header is not None and len(header) == 1 and layout.format != "xlsx":
        other = guess_delimiter(header, layout.effective_delimiter)
        if other is not None:
            return InputFileError(
                "el archivo no tiene el formato que declara el convenio: el encabezado está "
                f"separado por {delimiter_name(other)} y el convenio espera "
                f"{describe_layout(layout)}",
                hint="revise que sea el archivo de este convenio y guárdelo separado por "
                f"{delimiter_name(layout.effective_delimiter)}; si el convenio cambió de "
                "formato, pida al operador del hub que lo actualice",
            )
    return InputFileError(
        f"faltan columnas declaradas en el convenio: {', '.join(missing)}; "
        f"columnas del archivo: {found}",
        hint="corrija los nombres de columna en el convenio o en el encabezado del archivo",
    )


def _geo_or_converter(name: str, source: FieldSource, layout: FileLayout) -> Converter:
    if name in _GEOGRAPHY:
        return _keep
    return make_converter(name, source, layout)


def _keep(text: str) -> str:
    return text


def _constant(name: str, text: str, convert: Callable[[str], object]) -> object:
    try:
        return convert(text.strip()) if text.strip() else None
    except ValueError as exc:
        raise InputFileError(
            f"la constante '{text}' del campo no es válida: {exc}",
            field=name,
            hint="corrija 'constant' en el convenio",
        ) from exc
