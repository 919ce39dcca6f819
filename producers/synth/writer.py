"""Write synthetic records in an agreement's own file layout, atomically, with an error sidecar.

The writer is the inverse of the agency-file reader: dates through the layout's ``DateFormat``,
canonical codes through the inverse of each code table, INEGI keys concatenated or unpadded as
declared, amounts split across ``columns`` (summing exactly) with the layout's separators, and
fields derived from the CURP or given as constants left out. Output goes to a temporary file in
the same directory that is renamed at the end, so a failure leaves nothing half-written.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import IO, Any, Final

from hub.agreements.dateformat import DateFormat
from hub.agreements.layout import FieldSource, FileLayout
from producers.synth.record import SynthRecord, Value

__all__ = [
    "SIDECAR_HEADER",
    "WriteResult",
    "atomic_write",
    "column_plan",
    "format_amount",
    "sidecar_path",
    "split_amount",
    "split_shares",
    "value_writer",
    "write_records",
    "write_text",
    "write_xlsx",
    "xlsx_number",
    "xlsx_numeric",
]

#: Columns of the ``<out>.errores.csv`` sidecar.
SIDECAR_HEADER: Final = ("linea", "referencia", "campo", "tipo_error")

#: How an amount is split across ``columns`` (percent per funding source, in declared order).
_SPLITS: Final[dict[int, tuple[int, ...]]] = {1: (100,), 2: (60, 40), 3: (50, 30, 20)}

_GEO_WIDTHS: Final = {"cve_ent": 2, "cve_mun": 3, "cve_loc": 4}

#: Rows encoded before each write to the file.
_BATCH: Final = 4096


@dataclass(frozen=True)
class WriteResult:
    """What was written: rows, injected errors, and the two files."""

    records: int
    errors: int
    path: Path
    sidecar: Path


@dataclass(frozen=True)
class _Column:
    header: str
    encode: Callable[[SynthRecord], str]
    fast: Callable[[Mapping[str, Value]], str]  # for rows without raw overrides

    @classmethod
    def plain(cls, header: str, name: str, write: Callable[[Value], str]) -> _Column:
        """A one-field column; values are memoised (dates, amounts and codes repeat a lot)."""
        memo: dict[Value, str] = {}

        def fast(values: Mapping[str, Value]) -> str:
            value = values.get(name)
            if value is None:
                return ""
            text = memo.get(value)
            if text is None:
                text = write(value)
                if len(memo) < 100_000:
                    memo[value] = text
            return text

        def encode(record: SynthRecord) -> str:
            raw = record.raw.get(name)
            return raw if raw is not None else fast(record.values)

        return cls(header, encode, fast)


def sidecar_path(out: Path | str) -> Path:
    """``<out>.errores.csv``: the list of injected errors next to the data file."""
    out = Path(out)
    return out.with_name(out.name + ".errores.csv")


def write_records(
    records: Iterable[SynthRecord], layout: FileLayout, out: Path | str, *, title: str = ""
) -> WriteResult:
    """Write ``records`` to ``out`` in ``layout`` and the sidecar of their injected errors."""
    out = Path(out)
    columns = _columns(layout)
    errors: list[tuple[int, str, str, str]] = []
    first_line = layout.skip_rows + (2 if layout.header else 1)

    fast = [column.fast for column in columns]

    def rows() -> Iterator[list[str] | list[Any]]:
        for line, record in enumerate(records, first_line):
            if record.raw or record.errors:
                for error in record.errors:
                    errors.append((line, record.reference_id, error.field, error.kind))
                yield [column.encode(record) for column in columns]
            else:
                values = record.values
                yield [encode(values) for encode in fast]

    headers = [column.header for column in columns]
    preamble = [title or "Padrón de beneficiarios"] * layout.skip_rows
    count = 0

    def batches() -> Iterator[list[list[str] | list[Any]]]:
        nonlocal count
        pending = rows()
        while batch := list(islice(pending, _BATCH)):
            count += len(batch)
            yield batch

    def write_main(handle: IO[Any]) -> None:
        if layout.format == "xlsx":
            write_xlsx(handle, layout, preamble, headers, batches())
        else:
            write_text(handle, layout, preamble, headers, batches())

    binary = layout.format == "xlsx"
    atomic_write(out, write_main, binary=binary, encoding=layout.encoding)
    side = sidecar_path(out)

    def write_side(handle: IO[Any]) -> None:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(SIDECAR_HEADER)
        writer.writerows(errors)

    atomic_write(side, write_side, binary=False, encoding="utf-8")
    return WriteResult(records=count, errors=len(errors), path=out, sidecar=side)


def atomic_write(
    path: Path, write: Callable[[IO[Any]], None], *, binary: bool, encoding: str
) -> None:
    """Write through a temporary file in the same directory, renamed only on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if binary:
            with os.fdopen(fd, "wb") as handle:
                write(handle)
        else:
            with os.fdopen(fd, "w", encoding=encoding, newline="", errors="strict") as handle:
                write(handle)
        Path(tmp).replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            Path(tmp).unlink()
        raise


def write_text(
    handle: IO[str],
    layout: FileLayout,
    preamble: list[str],
    headers: list[str],
    batches: Iterable[Iterable[Sequence[str]]],
) -> None:
    """The preamble, the header and the rows of a pipe, CSV or TSV file, a batch at a time."""
    terminator = "\r\n" if layout.encoding == "cp1252" else "\n"
    for text in preamble:
        handle.write(text + terminator)
    delimiter = layout.effective_delimiter
    if layout.format == "pipe":
        # Pipe files are read without quoting: a value can never contain the delimiter.
        if layout.header:
            handle.write(delimiter.join(headers) + terminator)
        join = delimiter.join
        for batch in batches:
            lines = list(map(join, batch))
            if lines:
                handle.write(terminator.join(lines) + terminator)
        return
    # Each batch goes through an in-memory buffer: one encode and one write per batch.
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=terminator)
    if layout.header:
        writer.writerow(headers)
    for batch in batches:
        writer.writerows(batch)
        handle.write(buffer.getvalue())
        buffer.seek(0)
        buffer.truncate()
    handle.write(buffer.getvalue())


def xlsx_numeric(layout: FileLayout) -> frozenset[str]:
    """Headers of amount columns, written as numbers in the workbook like agencies do."""
    out: set[str] = set()
    for name, source in layout.fields.items():
        if name == "monto":
            out.update(_headers_of(name, source))
    return frozenset(out)


def write_xlsx(
    handle: IO[bytes],
    layout: FileLayout,
    preamble: list[str],
    headers: list[str],
    batches: Iterable[Iterable[Sequence[str]]],
) -> None:
    """The preamble, the header and the rows of a workbook; amounts as numbers."""
    from openpyxl import Workbook  # only xlsx layouts pay for the import

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(layout.sheet or "Padron")
    for text in preamble:
        sheet.append([text])
    if layout.header:
        sheet.append(headers)
    numeric = xlsx_numeric(layout)
    as_number = [h in numeric for h in headers]
    for batch in batches:
        for row in batch:
            cells = zip(row, as_number, strict=True)
            sheet.append([xlsx_number(v, layout) if num and v else v for v, num in cells])
    workbook.save(handle)


def xlsx_number(text: str, layout: FileLayout) -> float | str:
    plain = text.replace(layout.thousands_separator, "") if layout.thousands_separator else text
    plain = plain.replace(layout.decimal_separator, ".")
    try:
        return float(plain)
    except ValueError:
        return text  # an injected error stays as the agency wrote it


# -- columns -------------------------------------------------------------------------------


def _headers_of(name: str, source: FieldSource) -> list[str]:
    if source.columns is not None:
        return [c if isinstance(c, str) else f"{name}_{i}" for i, c in enumerate(source.columns, 1)]
    return [source.column or name]


def column_plan(layout: FileLayout) -> list[tuple[str, str | None, int | None]]:
    """The file's columns in order as (header, field or None for filler, part of a split amount).

    Columns go by position where declared, else in declaration order; fields derived from the
    CURP or given as constants are not in the file.
    """
    placed: dict[int, tuple[str, str | None, int | None]] = {}
    loose: list[tuple[str, str | None, int | None]] = []
    for name, source in layout.fields.items():
        if source.derive is not None or source.constant is not None:
            continue
        if source.columns is not None:
            headers = _headers_of(name, source)
            for part, ref in enumerate(source.columns):
                if isinstance(ref, int):
                    placed[ref] = (headers[part], name, part)
                else:
                    loose.append((headers[part], name, part))
            continue
        spec = (source.column or name, name, None)
        if source.position is not None:
            placed[source.position] = spec
        else:
            loose.append(spec)
    width = max([*placed, len(placed) + len(loose)])
    out: list[tuple[str, str | None, int | None]] = []
    pending = iter(loose)
    for position in range(1, width + 1):
        if position in placed:
            out.append(placed[position])
        else:
            out.append(next(pending, None) or (f"col{position}", None, None))
    return out


def _columns(layout: FileLayout) -> list[_Column]:
    """Encoders of the file's columns, in ``column_plan`` order."""
    out: list[_Column] = []
    for header, name, part in column_plan(layout):
        if name is None:
            out.append(_Column(header, _empty, _empty))
        elif part is not None:
            encode = _amount_part(name, layout.fields[name], layout, part)
            out.append(_Column(header, encode, _values_only(encode)))
        else:
            writer = value_writer(name, layout.fields[name], layout)
            out.append(_Column.plain(header, name, writer))
    return out


def _empty(_item: object) -> str:
    return ""


def _values_only(encode: Callable[[SynthRecord], str]) -> Callable[[Mapping[str, Value]], str]:
    return lambda values: encode(SynthRecord("", values))


def value_writer(name: str, source: FieldSource, layout: FileLayout) -> Callable[[Value], str]:
    """How the agency writes field ``name``'s canonical value (codes, dates, amounts, keys)."""
    fmt = DateFormat(source.format or layout.date_format)
    inverse: dict[str, str] = {}
    for agency, canonical in (source.codes or {}).items():
        inverse.setdefault(canonical, agency)
    width = _GEO_WIDTHS.get(name)

    def write(value: Value) -> str:
        if value is None:
            return ""
        if isinstance(value, date):
            return fmt.format(value)
        if isinstance(value, Decimal):
            return format_amount(value, layout)
        if inverse:
            value = inverse.get(value, value)
        if source.unpadded and (width is not None or name == "cvegeo"):
            return _unpad(value)
        return value

    return write


def _unpad(value: str) -> str:
    """An INEGI key without leading zeros (``010010001`` → ``10010001``), as some agencies write."""
    if not value.isdigit():
        return value
    return value.lstrip("0") or "0"


def _amount_part(
    name: str, source: FieldSource, layout: FileLayout, part: int
) -> Callable[[SynthRecord], str]:
    assert source.columns is not None
    shares = split_shares(len(source.columns))

    def encode(record: SynthRecord) -> str:
        raw = record.raw.get(name)
        if raw is not None:
            return raw if part == 0 else ""
        value = record.values.get(name)
        if not isinstance(value, Decimal):
            return ""
        return format_amount(split_amount(value, shares)[part], layout)

    return encode


def split_shares(n: int) -> tuple[int, ...]:
    """Percent of an amount in each of ``n`` funding-source columns."""
    return _SPLITS.get(n) or tuple(100 // n + (1 if i < 100 % n else 0) for i in range(n))


def split_amount(amount: Decimal, shares: tuple[int, ...]) -> list[Decimal]:
    """Split into parts by percent shares, in centavos, the last part taking the remainder."""
    cents = int((amount * 100).to_integral_value())
    parts = [cents * share // 100 for share in shares[:-1]]
    parts.append(cents - sum(parts))
    return [Decimal(p) / 100 for p in parts]


def format_amount(amount: Decimal, layout: FileLayout) -> str:
    """``1234.5`` as ``1,234.50`` (or with the layout's separators)."""
    cents = int((amount * 100).to_integral_value())
    sign = "-" if cents < 0 else ""
    units, frac = divmod(abs(cents), 100)
    whole = f"{units:,}".replace(",", layout.thousands_separator)
    return f"{sign}{whole}{layout.decimal_separator}{frac:02d}"
