"""How an agency file looks when it does not follow its agreement's layout, in words.

A file with another delimiter than the agreement's (a '|' file given to a tab-separated
agreement) reads as rows of one long column, or a header of one long column. The delivery then
stops with a message that names the layout the agreement expects and the delimiter the file
seems to use, instead of reporting every row as a bad row.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from hub.agreements.layout import FileLayout

__all__ = [
    "column_counts",
    "delimiter_name",
    "describe_layout",
    "expected_columns",
    "guess_delimiter",
    "sample_lines",
]

_NAMES: Final = {
    ",": "comas (,)",
    "\t": "tabuladores",
    "|": "barras verticales (|)",
    ";": "punto y coma (;)",
}
_SAMPLE_LINES: Final = 50


def delimiter_name(delimiter: str) -> str:
    """``tabuladores``, ``comas (,)``... for a message."""
    return _NAMES.get(delimiter, f"'{delimiter}'")


def expected_columns(layout: FileLayout) -> int | None:
    """How many columns a row of a file read by position needs (None: read by header)."""
    if layout.header:
        return None
    positions = [source.position for source in layout.fields.values() if source.position]
    for source in layout.fields.values():
        positions += [c for c in source.columns or () if isinstance(c, int)]
    return max(positions, default=None)


def describe_layout(layout: FileLayout) -> str:
    """The file the layout describes, in Spanish: format, delimiter, header, columns."""
    if layout.format == "xlsx":
        sheet = f", hoja '{layout.sheet}'" if layout.sheet else ""
        return f"un libro de Excel (.xlsx){sheet} con encabezado"
    text = f"texto separado por {delimiter_name(layout.effective_delimiter)}"
    skipped = f", después de {layout.skip_rows} filas de títulos" if layout.skip_rows else ""
    columns = expected_columns(layout)
    if columns is None:
        names = [s.column for s in layout.fields.values() if s.column is not None]
        shown = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
        return f"{text}{skipped}, con encabezado (columnas {shown})"
    return f"{text}{skipped}, sin encabezado, con {columns} columnas por fila"


def sample_lines(path: Path | str, layout: FileLayout, limit: int = _SAMPLE_LINES) -> list[str]:
    """The first non-empty lines of a text file after its skipped rows (none for xlsx)."""
    if layout.format == "xlsx":
        return []
    encoding = "utf-8-sig" if layout.encoding == "utf-8" else layout.encoding
    found: list[str] = []
    try:
        with Path(path).open(encoding=encoding, errors="replace", newline="") as handle:
            for number, line in enumerate(handle):
                if number < layout.skip_rows or not line.strip():
                    continue
                found.append(line.rstrip("\r\n"))
                if len(found) >= limit:
                    break
    except OSError:
        return []
    return found


def column_counts(lines: Sequence[str], delimiter: str) -> Counter[int]:
    """How many lines split into how many columns with ``delimiter`` (quotes ignored)."""
    return Counter(line.count(delimiter) + 1 for line in lines)


def guess_delimiter(lines: Sequence[str], declared: str) -> str | None:
    """Another usual delimiter that splits most ``lines`` into the same number (>1) of columns."""
    best: tuple[int, str] | None = None
    for candidate in _NAMES:
        if candidate == declared or not lines:
            continue
        width, count = column_counts(lines, candidate).most_common(1)[0]
        usual = width > 1 and count * 5 >= len(lines) * 4  # four lines in five, at least
        if usual and (best is None or width > best[0]):
            best = (width, candidate)
    return best[1] if best is not None else None
