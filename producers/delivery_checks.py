"""Deliveries refused after reading and before anything is written: the file or the period is wrong.

- ``refuse_wrong_layout``: most rows have another number of columns than the agreement's layout
  (a '|' file given to a tab-separated agreement). Every row would be reported as a bad row and
  the agency would never read that the file itself is not of this agreement.
- ``refuse_wrong_period``: rows carry amounts and payment dates, but none of those dates falls in
  the ``--period`` given. Such a delivery would pay nobody in the period (a payment dated in
  another month is not a payment of the period), so the period, or the file, is not the one
  meant.

Both raise ``InputFileError`` (the CLI exits with 2) after dropping the staged file.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Final

from hub.agreements import Agreement
from hub.errors import InputFileError
from producers.mapping.sniff import (
    column_counts,
    delimiter_name,
    describe_layout,
    guess_delimiter,
    sample_lines,
)

__all__ = ["WRONG_LAYOUT_SHARE", "refuse_wrong_layout", "refuse_wrong_period"]

#: The share of rows with another number of columns that makes a file one of another layout.
WRONG_LAYOUT_SHARE: Final = 0.5


def refuse_wrong_layout(
    conn: sqlite3.Connection, path: Path, agreement: Agreement, read: int, ragged_rows: int
) -> None:
    """Refuse a file whose rows mostly have another number of columns than the layout's."""
    if not read or ragged_rows <= WRONG_LAYOUT_SHARE * read:
        return
    conn.execute("DROP TABLE IF EXISTS staging")
    layout = agreement.layout
    lines = sample_lines(path, layout)
    declared = layout.effective_delimiter
    seen = ""
    if lines:
        width, _ = column_counts(lines, declared).most_common(1)[0]
        plural = "columna" if width == 1 else "columnas"
        seen = (
            f" (separadas por {delimiter_name(declared)}, la mayoría de las filas tiene {width} "
            f"{plural})"
        )
    other = guess_delimiter(lines, declared)
    looks = f"; el archivo parece separado por {delimiter_name(other)}" if other else ""
    raise InputFileError(
        f"el archivo no tiene el formato que declara el convenio {agreement.id}: {ragged_rows:,} "
        f"de {read:,} filas no tienen el número de columnas esperado{seen}{looks}. El convenio "
        f"espera {describe_layout(layout)}; no se envió nada",
        path=path,
        hint="revise que sea el archivo de este convenio y guárdelo con ese formato; si la "
        "dependencia cambió de formato, pida al operador del hub que actualice el convenio",
    )


def refuse_wrong_period(
    conn: sqlite3.Connection, path: Path, period: str, months: dict[str | None, int]
) -> None:
    """Refuse a delivery with ``--period`` in which no payment date falls in the period.

    ``months`` is ``snapshot.payment_months``: rows with an amount by payment month.
    """
    dated = {month: count for month, count in months.items() if month is not None}
    if not dated or period in dated:
        return
    conn.execute("DROP TABLE IF EXISTS staging")
    ranked = sorted(dated.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = ", ".join(f"{month}: {count:,} filas" for month, count in ranked[:4])
    more = ", ..." if len(ranked) > 4 else ""
    likely = ranked[0][0]
    raise InputFileError(
        f"ninguna de las {sum(dated.values()):,} filas con monto y fecha de pago tiene su fecha "
        f"en el periodo {period} (las fechas caen en {shown}{more}); un pago se informa en el "
        "periodo de su fecha. No se envió nada",
        path=path,
        field="period",
        hint=f"si son los pagos de {likely}, use --period {likely}; si el archivo aún no trae "
        f"los pagos de {period}, entréguelo sin --period (solo el padrón) y después con "
        f"--period {period} cuando traiga esas fechas",
    )
