"""Stream the raw rows of an agency file (csv, tsv, pipe, xlsx) as declared by its layout.

``RowReader`` is a context manager: entering it opens the file, skips the declared rows and reads
the header; iterating it yields ``(line_number, row)`` with ``row`` a list of cell texts. The line
number is the 1-based physical line where the row starts (for xlsx, the sheet row number), so that
an agency can find the row in its own editor. Rows are read one at a time, never all at once:
memory does not grow with the size of the file. Empty rows are skipped.

Text files: the delimiter is ``layout.effective_delimiter``; csv and tsv follow the usual quoting
rules (``"a,b"``), pipe files are read without quoting (a ``"`` is an ordinary character) because
the systems that write them do not quote. ``utf-8`` also accepts a byte-order mark.

xlsx cells become text: dates in ISO (``1952-03-05``), whole numbers without ``.0`` and other
numbers with at most 15 significant digits (Excel's precision, no float noise such as
``0.30000000000000004``) written with the layout's decimal separator, booleans as ``TRUE`` or
``FALSE``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from hub.agreements.layout import FileLayout
from hub.errors import InputFileError

__all__ = ["RowReader", "cell_text"]

_ENCODING_HINTS = {
    "utf-8": "guarde el archivo como UTF-8 o declare encoding: cp1252 en el convenio",
    "utf-8-sig": "guarde el archivo como UTF-8 o declare encoding: cp1252 en el convenio",
    "cp1252": "guarde el archivo como Windows-1252 o declare encoding: utf-8 (o latin-1) "
    "en el convenio",
    "latin-1": "guarde el archivo como Latin-1 o declare el encoding correcto en el convenio",
}


def cell_text(value: object, decimal_separator: str = ".") -> str:
    """The text of one xlsx cell value (see the module docstring)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        text = format(Decimal(f"{value:.15g}"), "f")
        return text.replace(".", decimal_separator) if decimal_separator != "." else text
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


class RowReader:
    """Raw rows of one agency file: ``with RowReader(path, layout) as rows: ...``."""

    def __init__(self, path: Path | str, layout: FileLayout) -> None:
        self.path = Path(path)
        self.layout = layout
        self.header: list[str] | None = None
        self._rows: Iterator[tuple[int, list[str]]] | None = None
        self._closers: list[Any] = []

    def __enter__(self) -> RowReader:
        if not self.path.is_file():
            raise InputFileError(
                "el archivo no existe o no es un archivo",
                path=self.path,
                hint="revise la ruta del archivo del padrón",
            )
        rows = self._xlsx_rows() if self.layout.format == "xlsx" else self._text_rows()
        if self.layout.header:
            first = next(rows, None)
            if first is None:
                raise InputFileError(
                    "el archivo no tiene encabezado (está vacío después de las filas omitidas)",
                    path=self.path,
                    hint="revise skip_rows y header en el convenio",
                )
            self.header = [cell.strip() for cell in first[1]]
        self._rows = rows
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the file."""
        for closer in reversed(self._closers):
            closer.close()
        self._closers.clear()

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        if self._rows is None:
            raise RuntimeError("use RowReader as a context manager: with RowReader(...) as rows")
        return self._rows

    # -- text -------------------------------------------------------------------------------

    def _text_rows(self) -> Iterator[tuple[int, list[str]]]:
        encoding = self.layout.encoding
        handle: IO[str] = self.path.open(  # closed by close()
            encoding="utf-8-sig" if encoding == "utf-8" else encoding,
            newline="",
        )
        self._closers.append(handle)
        return self._text_generator(handle)

    def _text_generator(self, handle: IO[str]) -> Iterator[tuple[int, list[str]]]:
        layout = self.layout
        skipped = 0
        try:
            for _ in range(layout.skip_rows):
                if not handle.readline():
                    break
                skipped += 1
            if layout.format == "pipe":
                reader = csv.reader(
                    handle, delimiter=layout.effective_delimiter, quoting=csv.QUOTE_NONE
                )
            else:
                reader = csv.reader(handle, delimiter=layout.effective_delimiter)
            previous = 0
            for row in reader:
                start = skipped + previous + 1
                previous = reader.line_num
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                yield start, row
        except UnicodeDecodeError as exc:
            line = self._bad_line(exc)
            raise InputFileError(
                f"el archivo no está en la codificación declarada ({layout.encoding}): "
                f"byte {exc.object[exc.start : exc.start + 1]!r} inválido",
                path=self.path,
                line=line,
                hint=_ENCODING_HINTS[layout.encoding],
            ) from exc
        except csv.Error as exc:
            raise InputFileError(
                f"el archivo no se puede leer como texto delimitado: {exc}",
                path=self.path,
                line=skipped + previous + 1,
                hint="revise el delimitador declarado en el convenio y cierre las comillas "
                "abiertas en esa fila",
            ) from exc

    def _bad_line(self, exc: UnicodeDecodeError) -> int | None:
        """The 1-based line of the first byte the declared encoding cannot decode."""
        codec = "utf-8" if self.layout.encoding.startswith("utf-8") else self.layout.encoding
        with self.path.open("rb") as raw:
            for number, line in enumerate(raw, 1):
                try:
                    line.decode(codec)
                except UnicodeDecodeError:
                    return number
        return None

    # -- xlsx -------------------------------------------------------------------------------

    def _xlsx_rows(self) -> Iterator[tuple[int, list[str]]]:
        from openpyxl import load_workbook  # only xlsx layouts pay for the import

        try:
            workbook = load_workbook(self.path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises zipfile/KeyError/ValueError alike
            raise InputFileError(
                f"el archivo no es un libro de Excel (xlsx) legible: {exc}",
                path=self.path,
                hint="guárdelo como .xlsx o declare el formato correcto en el convenio",
            ) from exc
        self._closers.append(workbook)
        sheet_name = self.layout.sheet
        if sheet_name is None:
            sheet = workbook.worksheets[0]
        elif sheet_name in workbook.sheetnames:
            sheet = workbook[sheet_name]
        else:
            raise InputFileError(
                f"el libro no tiene la hoja '{sheet_name}'; "
                f"hojas: {', '.join(workbook.sheetnames)}",
                path=self.path,
                hint="corrija 'sheet' en el convenio o el nombre de la hoja",
            )
        return self._xlsx_generator(sheet)

    def _xlsx_generator(self, sheet: Any) -> Iterator[tuple[int, list[str]]]:
        separator = self.layout.decimal_separator
        skip = self.layout.skip_rows
        for number, values in enumerate(sheet.iter_rows(values_only=True), 1):
            if number <= skip:
                continue
            row = [cell_text(value, separator) for value in values]
            while row and not row[-1].strip():
                row.pop()
            if row:
                yield number, row
