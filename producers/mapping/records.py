"""Read an agency file into validated canonical records: reader, mapper and validation chained."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

from hub.agreements.layout import FileLayout
from hub.errors import InputFileError
from hub.validation.geography import GeoCatalog
from hub.validation.issues import ValidationIssue
from hub.validation.record import DEFAULT_REQUIRED, validate_item
from producers.mapping.mapper import ROW_COLUMNS, MappedRecord, compile_layout
from producers.mapping.reader import RowReader

__all__ = ["curp_derived", "drop_derived_required", "read_records", "required_fields"]

_GEOGRAPHY = frozenset({"cve_ent", "cve_mun", "cve_loc", "cvegeo"})


def required_fields(layout: FileLayout) -> frozenset[str]:
    """Fields whose absence is an error at mapping time.

    The default required fields that the layout maps (a field the file does not carry, such as
    ``operation`` when the producer computes it from the previous delivery, cannot be missing
    from a row), plus the fields the layout marks ``required: true``, minus ``required: false``.
    """
    mapped = set(layout.fields)
    if mapped & _GEOGRAPHY:
        mapped |= {"cve_ent", "cve_mun"}
    required = {name for name in DEFAULT_REQUIRED if name in mapped}
    for name, source in layout.fields.items():
        if source.required is True:
            required.add(name)
        elif source.required is False:
            required.discard(name)
    return frozenset(required)


def curp_derived(layout: FileLayout) -> frozenset[str]:
    """Fields the layout derives from the CURP (``derive: curp``)."""
    return frozenset(name for name, source in layout.fields.items() if source.derive == "curp")


def drop_derived_required(issues: list[ValidationIssue], derived: frozenset[str]) -> None:
    """Remove (in place) the REQUIRED errors of the fields in ``derived`` when the CURP they are
    derived from has an error itself.

    A CURP that cannot be read leaves its derived fields (``fecha_nacimiento``, ``sexo``...)
    empty; "falta un dato obligatorio" on each would count one problem three times and send the
    agency after columns its file does not have. The CURP's own error says what to fix, and the
    row is rejected anyway. A missing CURP that is not required has no error of its own: then the
    derived fields' REQUIRED errors stay, they are why the row is rejected.
    """
    if not derived or not any(i.field == "curp" and i.severity == "error" for i in issues):
        return
    issues[:] = [i for i in issues if not (i.code == "REQUIRED" and i.field in derived)]


def read_records(
    path: Path | str,
    layout: FileLayout,
    *,
    catalog: GeoCatalog | None = None,
    validate: bool = True,
    today: date | None = None,
) -> Iterator[MappedRecord]:
    """The file's rows as canonical records, one at a time, with their issues.

    File-level problems (missing file, undecodable bytes, missing columns) raise
    ``InputFileError``; row-level problems are issues on the record. With ``validate`` each record
    also gets ``hub.validation.record.validate_item``'s issues, without repeating a problem the
    mapping already reported (a date that could not be read is not also "missing").
    ``catalog`` defaults to ``GeoCatalog.load()``.
    """
    geo = catalog if catalog is not None else GeoCatalog.load()
    required = required_fields(layout)
    derived = curp_derived(layout)
    with RowReader(path, layout) as rows:
        try:
            mapper = compile_layout(layout, rows.header, catalog=geo, file_name=Path(path).name)
        except InputFileError as exc:
            raise InputFileError(exc.message, path=path, field=exc.field, hint=exc.hint) from exc
        if not validate:
            for line, row in rows:
                yield mapper.map(line, row)
            return
        for line, row in rows:
            record = mapper.map(line, row)
            if len(record.issues) == 1 and record.issues[0].code == ROW_COLUMNS:
                yield record  # shifted cells: the row's only issue is its number of columns
                continue
            found = validate_item(record.values, catalog=geo, required=required, today=today)
            if found:
                if record.issues:
                    found = _new_issues(record.issues, found)
                record.issues.extend(found)
                drop_derived_required(record.issues, derived)
            yield record


def _new_issues(
    known: list[ValidationIssue], found: list[ValidationIssue]
) -> list[ValidationIssue]:
    seen = set(known)
    fields = {issue.field for issue in known}
    return [
        issue
        for issue in found
        if issue not in seen and not (issue.code == "REQUIRED" and issue.field in fields)
    ]
