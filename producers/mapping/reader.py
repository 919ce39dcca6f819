"""Stream the raw rows of an agency file (csv, tsv, pipe, xlsx) as declared by its layout.

``RowReader`` is a context manager: entering it opens the file, skips the declared rows and reads
the header; iterating it yields ``(line_number, row)`` with ``row`` a list of cell texts. The line
number is the 1-based physical line where the row starts (for xlsx, the sheet row number), so that
an agency can find the row in its own editor. Rows are read one at a time, never all at once:
memory does not grow with the size of the file. Empty rows are skipped.

Text files: the delimiter is ``layout.effective_delimiter``; csv and tsv follow the usual quoting
rules (``"a,b"``), pipe files are read without quoting (a ``"`` is an ordinary character) because
the systems that write them do not quote. ``utf-8`` also accepts a byte-order mark. A workbook,
archive, PDF or UTF-16 file given where text is declared is refused as what it is (a Latin-1
layout would otherwise read a workbook as rows of garbage).

xlsx cells become text: dates in ISO (``1952-03-05``), whole numbers without ``.0`` and other
numbers with at most 15 significant digits (Excel's precision, no float noise such as
``0.30000000000000004``) written with the layout's decimal separator, booleans as ``TRUE`` or
``FALSE``.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from hub.agreements.layout import FileLayout
from hub.errors import InputFileError

__all__ = ["RowReader", "Span", "cell_text", "text_spans"]

#: A part of a text file read on its own: (first byte, end byte, line number at the first byte,
#: line number at the end byte). The part that starts at byte 0 also reads the header.
Span = tuple[int, int, int, int]
_BLOCK = 1 << 22

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

    def __init__(self, path: Path | str, layout: FileLayout, *, span: Span | None = None) -> None:
        self.path = Path(path)
        self.layout = layout
        self.span = span
        self.header: list[str] | None = None
        #: The line of the header (0 without one).
        self.header_line = 0
        self._rows: Iterator[tuple[int, list[str]]] | None = None
        self._closers: list[Any] = []

    def __enter__(self) -> RowReader:
        if not self.path.is_file():
            raise InputFileError(
                "el archivo no existe o no es un archivo",
                path=self.path,
                hint="revise la ruta del archivo del padrón",
            )
        if self.layout.format != "xlsx":
            _refuse_binary(self.path, self.layout)
        rows = self._xlsx_rows() if self.layout.format == "xlsx" else self._text_rows()
        if self.layout.header:
            first = next(rows, None)
            if first is None:
                raise InputFileError(
                    "el archivo no tiene encabezado (está vacío después de las filas omitidas)",
                    path=self.path,
                    hint="revise skip_rows y header en el convenio",
                )
            self.header_line, header = first
            self.header = [cell.strip() for cell in header]
        if self.span is not None and self.layout.format != "xlsx":
            start, end, first_line, end_line = self.span
            rows = (
                _before(rows, end_line) if start == 0 else self._span_rows(start, end, first_line)
            )
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

    def _span_rows(self, start: int, end: int, first_line: int) -> Iterator[tuple[int, list[str]]]:
        """The rows between two line starts of a text file (``text_spans``)."""
        raw = self.path.open("rb")
        raw.seek(start)
        encoding = self.layout.encoding  # a byte-order mark can only be at the very start
        handle = io.TextIOWrapper(
            io.BufferedReader(_Limited(raw, end - start), _BLOCK), encoding=encoding, newline=""
        )
        self._closers.append(handle)
        return self._text_generator(handle, first_line=first_line)

    def _text_generator(
        self, handle: IO[str], *, first_line: int | None = None
    ) -> Iterator[tuple[int, list[str]]]:
        layout = self.layout
        skipped = 0
        try:
            if first_line is not None:
                skipped = first_line - 1
            else:
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

        if not zipfile.is_zipfile(self.path):  # every .xlsx is a zip archive
            raise InputFileError(
                f"el archivo no es un libro de Excel: {_what_it_is(self.path)}; el convenio "
                "declara un libro de Excel (.xlsx o .xlsm) con encabezado",
                path=self.path,
                hint="ábralo en Excel y guárdelo como «Libro de Excel (.xlsx)»; si la dependencia "
                "entrega ahora otro formato, pida al operador del hub que actualice el convenio",
            )
        # opened here, not by name: openpyxl refuses a name not ending in .xlsx/.xlsm/.xltx/.xltm
        # even when the content is a workbook
        handle = self.path.open("rb")
        self._closers.append(handle)
        try:
            workbook = load_workbook(handle, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises zipfile/KeyError/ValueError alike
            raise InputFileError(
                "el archivo es un archivo comprimido (zip) pero no un libro de Excel legible "
                f"({type(exc).__name__}); el convenio declara un libro de Excel (.xlsx o .xlsm)",
                path=self.path,
                hint="ábralo en Excel y guárdelo de nuevo como «Libro de Excel (.xlsx)»",
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


def _what_it_is(path: Path) -> str:
    """What a file that is not a workbook seems to be, for the agency (Spanish)."""
    with path.open("rb") as handle:
        head = handle.read(8192)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "es un libro de Excel antiguo (.xls)"
    if not head.strip():
        return "está vacío"
    if head.startswith(b"%PDF"):
        return "es un PDF"
    if b"\x00" in head:
        return "es un archivo binario de otro tipo"
    lines = head.decode("latin-1").splitlines()[:20]
    for delimiter, name in (("\t", "tabuladores"), ("|", "barras verticales (|)"),
                            (";", "punto y coma (;)"), (",", "comas (,)")):  # fmt: skip
        if lines and all(delimiter in line for line in lines if line.strip()):
            return f"parece texto separado por {name}"
    return "parece un archivo de texto"


_TEXT_NAMES = {
    "csv": "texto separado por comas (CSV)",
    "tsv": "texto separado por tabuladores",
    "pipe": "texto separado por barras verticales (|)",
}
_ENCODING_NAMES = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8",
    "cp1252": "Windows-1252 (ANSI)",
    "latin-1": "Latin-1 (ISO-8859-1)",
}


def _declared_text(layout: FileLayout) -> str:
    """``texto separado por barras verticales (|) en UTF-8``: the text layout an agreement
    declares, in an agency's words."""
    delimiter = layout.effective_delimiter
    default = {"csv": ",", "tsv": "\t", "pipe": "|"}[layout.format]
    name = _TEXT_NAMES[layout.format]
    if delimiter != default:
        name = f"texto separado por '{delimiter}'"
    return f"{name} en {_ENCODING_NAMES[layout.encoding]}"


def _excel_save_as(layout: FileLayout) -> str:
    """How to get the declared text layout out of Excel, where Excel can write it."""
    if layout.delimiter is not None and layout.format != "csv":
        return ""
    if layout.format == "csv" and layout.effective_delimiter == ",":
        kind = (
            "CSV UTF-8 (delimitado por comas)"
            if layout.encoding.startswith("utf-8")
            else ("CSV (delimitado por comas)")
        )
    elif layout.format == "tsv":
        kind = "Texto (delimitado por tabulaciones)"
    else:
        return ""  # Excel has no "save as pipe-separated text"
    return f" (en Excel: Archivo → Guardar como → «{kind}»)"


def _binary_kind(path: Path) -> tuple[str, str] | None:
    """What a file that is not delimited text is (``es un libro de Excel (.xlsx)``), and how
    to get text out of it; None when it looks like text."""
    with path.open("rb") as handle:
        head = handle.read(8192)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        try:
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
                mimetype = archive.read("mimetype") if "mimetype" in names else b""
        except (zipfile.BadZipFile, OSError, KeyError):
            names, mimetype = set(), b""
        if "xl/workbook.xml" in names or "xl/workbook.bin" in names:
            return "es un libro de Excel (.xlsx), un archivo comprimido (zip)", "excel"
        if b"opendocument.spreadsheet" in mimetype:
            return "es una hoja de cálculo de LibreOffice (.ods)", "excel"
        if "word/document.xml" in names or b"opendocument.text" in mimetype:
            return "es un documento de texto con formato (Word u OpenDocument)", "zip"
        return "es un archivo comprimido (zip)", "zip"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "es un libro de Excel antiguo (.xls)", "excel"
    if head.startswith(b"%PDF"):
        return "es un PDF", "pdf"
    if head.startswith(b"\x1f\x8b"):
        return "es un archivo comprimido (gzip)", "zip"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "es texto en UTF-16 (Unicode de 2 bytes)", "utf16"
    if b"\x00" in head:
        return "es un archivo binario, no texto", "binary"
    return None


def _refuse_binary(path: Path, layout: FileLayout) -> None:
    """Refuse, in the agency's terms, a workbook, archive or PDF given where the agreement
    declares delimited text (otherwise it reads as an encoding error, or as garbage rows)."""
    if not path.is_file():
        return
    found = _binary_kind(path)
    if found is None:
        return
    what, kind = found
    declared = _declared_text(layout)
    ask_operator = (
        "; si la dependencia entrega ahora ese formato, pida al operador del hub que "
        "actualice el formato del convenio"
    )
    hints = {
        "excel": f"ábralo en Excel y expórtelo como {declared}{_excel_save_as(layout)}, o "
        f"genere ese texto en el sistema de origen{ask_operator}",
        "zip": f"descomprímalo y entregue el archivo de {declared} que contiene",
        "pdf": f"un PDF no se puede leer: genere el padrón como {declared} en el sistema de origen",
        "utf16": f"guárdelo como {declared} (en el Bloc de notas: Guardar como → "
        f"Codificación {'UTF-8' if layout.encoding.startswith('utf-8') else 'ANSI'})",
        "binary": f"revise que sea el archivo del padrón, exportado como {declared}",
    }
    raise InputFileError(
        f"el archivo {what}; el convenio declara {declared}",
        path=path,
        hint=hints[kind],
    )


def _before(
    rows: Iterator[tuple[int, list[str]]], end_line: int
) -> Iterator[tuple[int, list[str]]]:
    for line, row in rows:
        if line >= end_line:
            return
        yield line, row


class _Limited(io.RawIOBase):
    """At most ``size`` bytes of an open binary file, from where it stands."""

    def __init__(self, raw: IO[bytes], size: int) -> None:
        self._raw = raw
        self._left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._left <= 0:
            return 0
        view = memoryview(buffer).cast("B")[: self._left]
        count = self._raw.readinto(view)  # type: ignore[attr-defined]
        self._left -= count
        return int(count)

    def close(self) -> None:
        self._raw.close()
        super().close()


def text_spans(path: Path | str, layout: FileLayout, parts: int) -> list[Span] | None:
    """``parts`` byte ranges of a text file, each starting at a line, for reading it in parts.

    Only where a line is always a whole row: not for xlsx, nor for csv/tsv files that contain
    a double quote (a quoted value may hold a line break), nor for files with a carriage
    return that is not part of CRLF (line numbers count line feeds). None otherwise, or when
    a cut would fall before the end of the header. A part may come out empty.
    """
    if layout.format == "xlsx" or parts < 2:
        return None
    with RowReader(path, layout) as reader:
        data_line = max(reader.header_line, layout.skip_rows) + 1
    file = Path(path)
    size = file.stat().st_size
    targets = [size * k // parts for k in range(1, parts)]
    cuts: list[tuple[int, int]] = []  # (byte, line) where a part starts
    quoted = layout.format != "pipe"
    newlines = position = 0
    after_cr = False
    with file.open("rb") as handle:
        while block := handle.read(_BLOCK):
            if quoted and b'"' in block:
                return None
            if after_cr and not block.startswith(b"\n"):
                return None
            carriage = block.count(b"\r")
            after_cr = block.endswith(b"\r")
            if carriage and carriage != block.count(b"\r\n") + after_cr:
                return None
            while targets and targets[0] < position + len(block):
                found = block.find(b"\n", max(targets[0] - position, 0))
                if found < 0:
                    break  # the cut falls in a later block
                cut = position + found + 1
                cuts.append((cut, 1 + newlines + block.count(b"\n", 0, found + 1)))
                targets = [t for t in targets[1:] if t >= cut]
            newlines += block.count(b"\n")
            position += len(block)
    if after_cr:
        return None
    if any(line < data_line for _, line in cuts):
        return None
    cuts += [(size, 1 + newlines)] * (parts - 1 - len(cuts))  # cuts past the last line
    bounds = [(0, 1), *cuts, (size, 1 + newlines)]
    return [(bounds[k][0], bounds[k + 1][0], bounds[k][1], bounds[k + 1][1]) for k in range(parts)]
