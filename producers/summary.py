"""What a delivery did, for the agency: counts, reasons in Spanish, JSON, exit code, CSV report."""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Final

from hub.agreements.dateformat import DateFormat
from hub.agreements.layout import FileLayout
from hub.validation.issues import REASON_CODES
from producers.mapping.converters import DATE_FIELDS
from producers.staging import DUPLICATE_CODE, DUPLICATE_REASON

__all__ = [
    "REPORT_HEADER",
    "ProduceSummary",
    "default_report",
    "describe_code",
    "report_columns",
    "report_field",
    "write_report",
]

#: Columns of the rejection report the agency fixes and resends.
REPORT_HEADER: Final = ("linea", "referencia", "campo", "columna", "codigo", "motivo")
_EXAMPLE_DATE: Final = date(1952, 3, 5)


def _date_formats(layout: FileLayout) -> list[str]:
    """The date formats the layout reads, each with an example (``DD-MMM-YYYY, p. ej. ...``)."""
    formats: list[str] = []
    for name, source in layout.fields.items():
        if name in DATE_FIELDS and source.constant is None and source.derive is None:
            fmt = source.format or layout.date_format
            if fmt not in formats:
                formats.append(fmt)
    return [f"{fmt} (por ejemplo {DateFormat(fmt).format(_EXAMPLE_DATE)})" for fmt in formats]


def describe_code(code: str, layout: FileLayout | None = None) -> str:
    """The Spanish description of a validation code (for the agency's file, with ``layout``).

    The hub's generic text of ``DATE_FORMAT`` asks for ISO dates, as the SDK sends them; a file
    is read with its agreement's date format, so with ``layout`` the text names that format.
    """
    if code == DUPLICATE_CODE:
        return DUPLICATE_REASON
    if code == "DATE_FORMAT" and layout is not None:
        formats = _date_formats(layout)
        if formats:
            extra = (
                "; en Excel también se aceptan celdas con formato de fecha"
                if layout.format == "xlsx"
                else ""
            )
            return (
                "la fecha no existe o no tiene el formato que declara el convenio: "
                + " o ".join(formats)
                + extra
            )
    found = REASON_CODES.get(code)
    return found if found is not None else "vea el motivo de cada fila en el reporte de rechazos"


def default_report(input_path: Path, *, dry_run: bool) -> Path:
    """The rejection report's path without ``--report``: ``<file>.rechazos.csv`` beside the file,
    ``<file>.prueba.rechazos.csv`` for a dry run (never over the report of a real delivery)."""
    suffix = ".prueba.rechazos.csv" if dry_run else ".rechazos.csv"
    return input_path.with_name(input_path.name + suffix)


@dataclass
class ProduceSummary:
    """The outcome of ``sisi produce``."""

    agreement_id: str
    input: str
    transaction_id: str | None = None
    dry_run: bool = False
    read: int = 0
    invalid_rows: int = 0
    #: invalid rows by reason code (a row with two problems counts under both)
    invalid_by_code: dict[str, int] = field(default_factory=dict)
    #: the Spanish description of each code, for this agreement's file
    invalid_reasons: dict[str, str] = field(default_factory=dict)
    warnings_by_code: dict[str, int] = field(default_factory=dict)
    period: str | None = None
    #: without a period: rows with an amount, for which no PAGO was sent
    payments_without_period: int = 0
    #: with a period: rows with an amount whose payment date falls in another month, by month
    #: (``YYYY-MM``); they were not sent as payments of the period
    payments_outside_period: dict[str, int] = field(default_factory=dict)
    #: the month most payment dates of the file fall in (a hint for ``--period``)
    payment_month: str | None = None
    altas: int = 0
    cambios: int = 0
    bajas: int = 0
    bajas_on_hold: int = 0
    pagos: int = 0
    change_sets: int = 0
    published: int = 0
    unpublished: int = 0
    publish_error: str | None = None
    waited: bool = False
    accepted: int = 0
    rejected: int = 0
    rejected_by_code: dict[str, int] = field(default_factory=dict)
    rejection_reasons: dict[str, str] = field(default_factory=dict)
    awaiting_receipt: int = 0
    report: str | None = None
    #: Peak memory of the delivering process and of each reading process, in MB.
    peak_rss_mb: float = 0.0
    reader_peak_rss_mb: list[float] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 everything accepted (or, without waiting, sent), 1 something rejected or open."""
        if self.invalid_rows or self.rejected or self.unpublished:
            return 1
        if self.waited and self.awaiting_receipt:
            return 1
        return 0

    def _reason(self, code: str) -> str:
        return self.invalid_reasons.get(code) or describe_code(code)

    def notices(self) -> list[str]:
        """Warnings that do not change the exit code: what was not sent, and what to do."""
        found: list[str] = []
        if self.payments_without_period:
            month = self.payment_month
            example = (
                f" (las fechas de pago del archivo caen sobre todo en {month}: --period {month})"
                if month
                else ""
            )
            found.append(
                f"{self.payments_without_period:,} filas traen monto de apoyo, pero no se envió "
                "ningún pago porque no se indicó --period. Para informar esos pagos, "
                f"ejecute de nuevo con --period AAAA-MM{example}; lo ya entregado no se repite."
            )
        if self.payments_outside_period:
            outside = sum(self.payments_outside_period.values())
            months = ", ".join(
                f"{month}: {count:,}"
                for month, count in sorted(
                    self.payments_outside_period.items(), key=lambda kv: (-kv[1], kv[0])
                )
            )
            found.append(
                f"{outside:,} filas con monto tienen fecha de pago fuera de {self.period} "
                f"({months}) y no se enviaron como pagos de ese periodo. Si son pagos de otro "
                "mes, entregue el archivo con --period de ese mes; si la fecha está mal, "
                f"corríjala y entregue de nuevo con --period {self.period}."
            )
        return found

    def to_json(self) -> dict[str, Any]:
        """Machine-readable form (``--json``)."""
        data = asdict(self)
        data["exit_code"] = self.exit_code
        data["invalid_reasons"] = {code: self._reason(code) for code in self.invalid_by_code}
        data["notices"] = self.notices()
        return data

    def render(self) -> str:
        """The Spanish summary printed at the end of a delivery."""
        lines = [
            f"Convenio {self.agreement_id} — archivo {self.input}"
            + (" (simulación: no se envió nada)" if self.dry_run else ""),
            f"  leídos:      {self.read:>10,} filas",
            f"  inválidos:   {self.invalid_rows:>10,} filas",
        ]
        if self.invalid_by_code:
            lines.append("    filas por motivo (una fila puede tener más de un motivo):")
        for code, count in sorted(self.invalid_by_code.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"    {count:>8,}  {code}: {self._reason(code)}")
        for code, count in sorted(self.warnings_by_code.items()):
            lines.append(f"  advertencias {code}: {count:,} filas ({self._reason(code)})")
        lines += [
            f"  altas:       {self.altas:>10,}",
            f"  cambios:     {self.cambios:>10,}",
            f"  bajas:       {self.bajas:>10,}",
            f"  pagos:       {self.pagos:>10,}",
        ]
        if self.bajas_on_hold:
            lines.append(
                f"  bajas retenidas: {self.bajas_on_hold:,} (hay filas sin reference_id: no se "
                "puede saber quién salió; corrija esas filas y vuelva a entregar)"
            )
        for notice in self.notices():
            lines.append(f"  aviso: {notice}")
        if not self.dry_run:
            lines.append(
                f"  publicados:  {self.published:>10,} conjuntos de cambios "
                f"(de {self.change_sets:,})"
            )
            if self.unpublished:
                reason = f" ({self.publish_error})" if self.publish_error else ""
                lines.append(
                    f"  sin publicar: {self.unpublished:>9,} conjuntos no llegaron al broker"
                    f"{reason}: quedan guardados en la bandeja de salida; envíelos con "
                    "'sisi outbox resend' cuando el broker responda (no hace falta entregar el "
                    "archivo otra vez)"
                )
            if self.waited:
                lines.append(f"  aceptados:   {self.accepted:>10,}")
                lines.append(f"  rechazados:  {self.rejected:>10,}")
                for code, count in sorted(self.rejected_by_code.items(), key=lambda kv: -kv[1]):
                    reason = self.rejection_reasons.get(code) or describe_code(code)
                    lines.append(f"    {count:>8,}  {code}: {reason}")
                if self.awaiting_receipt:
                    lines.append(
                        f"  sin acuse:   {self.awaiting_receipt:>10,} conjuntos publicados (el hub "
                        "aún no responde; consulte 'sisi outbox status')"
                    )
            elif self.published:
                lines.append("  acuses: use --wait o 'sisi outbox status' para ver lo aceptado")
        if self.report:
            kind = " de la simulación" if self.dry_run else ""
            lines.append(f"  reporte de rechazos{kind}: {self.report}")
        return "\n".join(lines)


_GEOGRAPHY_PARTS: Final = ("cve_ent", "cve_mun", "cve_loc")


#: Places of fields that no column of the agency's file holds.
_DERIVED: Final = "derivado de la CURP"
_CONSTANT: Final = "valor fijo del convenio"


def report_columns(layout: FileLayout) -> dict[str, str]:
    """Each canonical field's place in the agency's file, as the rejection report names it.

    The report's ``columna`` is what the agency sees in its own file (``CVEGEO_LOCALIDAD``,
    ``columna 3``, ...); its ``campo`` is that place with the canonical name validation uses in
    parentheses (``CVEGEO_LOCALIDAD (cve_mun)``), see :func:`report_field`.
    """
    places: dict[str, str] = {}
    for name, source in layout.fields.items():
        if source.column is not None:
            places[name] = source.column
        elif source.position is not None:
            places[name] = f"columna {source.position}"
        elif source.columns:
            places[name] = " + ".join(str(c) for c in source.columns)
        elif source.derive == "curp":
            places[name] = _DERIVED
        elif source.constant is not None:
            places[name] = _CONSTANT
    if "cvegeo" in places:  # the INEGI parts come from the concatenated key
        for part in _GEOGRAPHY_PARTS:
            places.setdefault(part, places["cvegeo"])
    return places


def report_field(field_name: str, place: str) -> str:
    """The report's ``campo``: the agency's column first, so that it finds the cell in its own
    file, and the agreement's (canonical) field name in parentheses (``FEC_ALTA
    (effective_date)``); a field no column holds (derived, fixed) keeps its canonical name."""
    if not place or place in (_DERIVED, _CONSTANT) or place == field_name:
        return field_name
    return f"{place} ({field_name})"


def write_report(
    conn: sqlite3.Connection, path: Path, columns: Mapping[str, str] | None = None
) -> int:
    """Write the invalid rows (``invalid`` table) as a CSV the agency can open in a spreadsheet.

    ``columns`` (from :func:`report_columns`) names each field's column in the agency's file:
    ``campo`` leads with it (:func:`report_field`) and ``columna`` is the column alone.
    Written to a temporary name and renamed, so a failed write leaves nothing half-written.
    Returns the number of rows written.
    """
    places = columns or {}
    partial = path.with_name(path.name + ".tmp")
    written = 0
    with partial.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(REPORT_HEADER)
        cursor = conn.execute(
            "SELECT line, reference_id, field, code, message FROM invalid ORDER BY line, rowid"
        )
        while rows := cursor.fetchmany(1000):
            for line, reference, field_name, code, message in rows:
                place = places.get(field_name, "")
                label = report_field(field_name, place)
                writer.writerow((line, reference or "", label, place, code, message))
                written += 1
    partial.replace(path)
    return written
