"""What a delivery did, for the agency: counts, reasons in Spanish, JSON, exit code, CSV report."""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

from hub.agreements.layout import FileLayout
from hub.validation.issues import REASON_CODES
from producers.staging import DUPLICATE_CODE, DUPLICATE_REASON

__all__ = ["REPORT_HEADER", "ProduceSummary", "describe_code", "report_columns", "write_report"]

#: Columns of the rejection report the agency fixes and resends.
REPORT_HEADER: Final = ("linea", "referencia", "campo", "columna", "codigo", "motivo")


def describe_code(code: str) -> str:
    """The Spanish description of a validation code."""
    if code == DUPLICATE_CODE:
        return DUPLICATE_REASON
    return REASON_CODES.get(code, code)


@dataclass
class ProduceSummary:
    """The outcome of ``sisi produce``."""

    agreement_id: str
    input: str
    transaction_id: str | None = None
    dry_run: bool = False
    read: int = 0
    invalid_rows: int = 0
    invalid_by_code: dict[str, int] = field(default_factory=dict)
    warnings_by_code: dict[str, int] = field(default_factory=dict)
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

    def to_json(self) -> dict[str, Any]:
        """Machine-readable form (``--json``)."""
        data = asdict(self)
        data["exit_code"] = self.exit_code
        data["invalid_reasons"] = {code: describe_code(code) for code in self.invalid_by_code}
        return data

    def render(self) -> str:
        """The Spanish summary printed at the end of a delivery."""
        lines = [
            f"Convenio {self.agreement_id} — archivo {self.input}"
            + (" (simulación: no se envió nada)" if self.dry_run else ""),
            f"  leídos:      {self.read:>10,}",
            f"  inválidos:   {self.invalid_rows:>10,}",
        ]
        for code, count in sorted(self.invalid_by_code.items(), key=lambda kv: -kv[1]):
            lines.append(f"    {count:>8,}  {code}: {describe_code(code)}")
        for code, count in sorted(self.warnings_by_code.items()):
            lines.append(f"  advertencias {code}: {count:,} ({describe_code(code)})")
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
        if not self.dry_run:
            lines.append(
                f"  publicados:  {self.published:>10,} conjuntos de cambios "
                f"(de {self.change_sets:,})"
            )
            if self.unpublished:
                reason = f": {self.publish_error}" if self.publish_error else ""
                lines.append(
                    f"  sin publicar: {self.unpublished:,} conjuntos quedan en la bandeja de "
                    f"salida{reason}; use 'sisi outbox resend' cuando el broker responda"
                )
            if self.waited:
                lines.append(f"  aceptados:   {self.accepted:>10,}")
                lines.append(f"  rechazados:  {self.rejected:>10,}")
                for code, count in sorted(self.rejected_by_code.items(), key=lambda kv: -kv[1]):
                    reason = self.rejection_reasons.get(code) or describe_code(code)
                    lines.append(f"    {count:>8,}  {code}: {reason}")
                if self.awaiting_receipt:
                    lines.append(
                        f"  sin acuse:   {self.awaiting_receipt:>10,} conjuntos (el hub aún no "
                        "responde; consulte 'sisi outbox status')"
                    )
            else:
                lines.append("  acuses: use --wait o 'sisi outbox status' para ver lo aceptado")
        if self.report:
            lines.append(f"  reporte de rechazos: {self.report}")
        return "\n".join(lines)


_GEOGRAPHY_PARTS: Final = ("cve_ent", "cve_mun", "cve_loc")


def report_columns(layout: FileLayout) -> dict[str, str]:
    """Each canonical field's place in the agency's file, as the rejection report names it.

    The report's ``campo`` is the canonical name validation uses (``cve_mun``); ``columna`` is
    what the agency sees in its own file (``CVEGEO_LOCALIDAD``, ``columna 3``, ...).
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
            places[name] = "derivado de la CURP"
        elif source.constant is not None:
            places[name] = "valor fijo del convenio"
    if "cvegeo" in places:  # the INEGI parts come from the concatenated key
        for part in _GEOGRAPHY_PARTS:
            places.setdefault(part, places["cvegeo"])
    return places


def write_report(
    conn: sqlite3.Connection, path: Path, columns: Mapping[str, str] | None = None
) -> int:
    """Write the invalid rows (``invalid`` table) as a CSV the agency can open in a spreadsheet.

    ``columns`` (from :func:`report_columns`) names each field's column in the agency's file.
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
                writer.writerow((line, reference or "", field_name, place, code, message))
                written += 1
    partial.replace(path)
    return written
