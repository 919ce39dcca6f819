"""Mapping throughput: rows/s reading a 200k-row pipe file into validated canonical records.

Run: ``python bench/bench_mapping.py [rows]``. Writes its own synthetic file (17 columns: unpadded
INEGI keys, YYYYMMDD dates, amounts with thousands separators, CURPs with valid check digits) in a
temporary directory, then times ``read_records`` with and without validation and prints rows/s
and the process's peak RSS.
"""

from __future__ import annotations

import random
import resource
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from hub.agreements.layout import FileLayout
from hub.validation.curp import check_digit
from hub.validation.curp_stem import curp_stem
from producers.mapping import read_records

__all__ = ["main"]

SURNAMES = [
    "HERNANDEZ",
    "GARCIA",
    "MARTINEZ",
    "LOPEZ",
    "GONZALEZ",
    "PEREZ",
    "RODRIGUEZ",
    "SANCHEZ",
    "RAMIREZ",
    "CRUZ",
    "FLORES",
    "GOMEZ",
    "MORALES",
    "VAZQUEZ",
    "JIMENEZ",
]
NAMES = ["JUAN", "MARIA", "JOSE", "GUADALUPE", "ROSA", "PEDRO", "ANA", "LUIS", "CARMEN", "JORGE"]
COLUMNS = ["folio", "movimiento", "fec_mov", "curp", "ap_paterno", "ap_materno", "nombres",
           "fec_nac", "sexo", "ent", "mun", "loc", "programa", "apoyo", "importe", "fec_pago",
           "titular"]  # fmt: skip

LAYOUT = FileLayout.model_validate(
    {
        "format": "pipe",
        "date_format": "YYYYMMDD",
        "thousands_separator": ",",
        "fields": {
            "reference_id": {"column": "folio"},
            "operation": {"column": "movimiento"},
            "effective_date": {"column": "fec_mov"},
            "curp": {"column": "curp"},
            "primer_apellido": {"column": "ap_paterno"},
            "segundo_apellido": {"column": "ap_materno"},
            "nombre": {"column": "nombres"},
            "fecha_nacimiento": {"column": "fec_nac"},
            "sexo": {"column": "sexo"},
            "cve_ent": {"column": "ent", "unpadded": True},
            "cve_mun": {"column": "mun", "unpadded": True},
            "cve_loc": {"column": "loc", "unpadded": True},
            "clave_programa": {"column": "programa"},
            "tipo_beneficio": {"column": "apoyo"},
            "monto": {"column": "importe"},
            "fecha_beneficio": {"column": "fec_pago"},
            "titular": {"column": "titular"},
        },
    }
)


def write_file(path: Path, rows: int) -> None:
    """A pipe-delimited padrón of ``rows`` distinct people."""
    rng = random.Random(20240501)
    start = date(1940, 1, 1)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("|".join(COLUMNS) + "\n")
        for i in range(rows):
            first, second, given = rng.choice(SURNAMES), rng.choice(SURNAMES), rng.choice(NAMES)
            born = start + timedelta(days=rng.randrange(25000))
            sex = rng.choice("HM")
            stem = curp_stem(first, second, given, born, sex, "CS")
            stem = stem[:16] + ("0" if born.year < 2000 else "A")
            curp = stem + check_digit(stem)
            amount = f"{rng.randrange(500, 6000):,}.{rng.randrange(100):02d}"
            out.write(
                f"F{i:08d}|ALTA|20240501|{curp}|{first}|{second}|{given}|"
                f"{born:%Y%m%d}|{sex}|7|{rng.randrange(1, 10)}|1|PAM|MONETARIO|{amount}|"
                "20240415|S\n"
            )


def timed(path: Path, *, validate: bool) -> tuple[int, float, int]:
    """Rows read, seconds, rows with issues."""
    began = time.perf_counter()
    count = flagged = 0
    for record in read_records(path, LAYOUT, validate=validate):
        count += 1
        flagged += bool(record.issues)
    return count, time.perf_counter() - began, flagged


def main() -> None:
    """Write the file, time the mapping, print the figures."""
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "padron.txt"
        began = time.perf_counter()
        write_file(path, rows)
        size = path.stat().st_size / 1e6
        print(
            f"archivo: {rows:,} filas, {len(COLUMNS)} columnas, {size:.1f} MB "
            f"(generado en {time.perf_counter() - began:.1f} s)"
        )
        for validate in (False, True):
            count, seconds, flagged = timed(path, validate=validate)
            label = "mapeo + validación" if validate else "solo mapeo"
            print(
                f"{label:>20}: {count / seconds:10,.0f} filas/s "
                f"({seconds:.2f} s, {flagged:,} filas con observaciones)"
            )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'RSS máximo':>20}: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
