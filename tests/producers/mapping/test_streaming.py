"""A large file streams: memory stays flat however many rows the file has."""

from __future__ import annotations

import tracemalloc
from datetime import date
from pathlib import Path

from hub.agreements.layout import FileLayout
from producers.mapping import read_records

from .conftest import make_curp

ROWS = 300_000


def test_300k_rows_stream_without_memory_growth(tmp_path: Path, catalog: object) -> None:
    curp = make_curp("GARCIA", "LOPEZ", "ANA", date(1950, 1, 2), "M", "CS")
    path = tmp_path / "grande.txt"
    with path.open("w", encoding="utf-8") as out:
        out.write("folio|curp|ap1|ap2|nom|fnac|sexo|ent|mun|loc|monto|fpago\n")
        for i in range(ROWS):
            out.write(
                f"F{i:07d}|{curp}|GARCIA|LOPEZ|ANA|{1 + i % 28:02d}/01/1950|M|7|{1 + i % 9}|1|"
                f"{1000 + i % 5000}.{i % 100:02d}|15/04/2025\n"
            )
    size_mb = path.stat().st_size / 1e6
    lay = FileLayout.model_validate(
        {
            "format": "pipe",
            "date_format": "DD/MM/YYYY",
            "fields": {
                "reference_id": {"column": "folio"},
                "curp": {"column": "curp"},
                "primer_apellido": {"column": "ap1"},
                "segundo_apellido": {"column": "ap2"},
                "nombre": {"column": "nom"},
                "fecha_nacimiento": {"column": "fnac"},
                "sexo": {"column": "sexo"},
                "cve_ent": {"column": "ent"},
                "cve_mun": {"column": "mun"},
                "cve_loc": {"column": "loc"},
                "monto": {"column": "monto"},
                "fecha_beneficio": {"column": "fpago"},
            },
        }
    )
    count = issues = 0
    tracemalloc.start()
    try:
        for record in read_records(path, lay, catalog=catalog, validate=False):  # type: ignore[arg-type]
            count += 1
            issues += len(record.issues)
            if count == 30_000:
                early_peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.reset_peak()
        late_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == ROWS and issues == 0
    assert size_mb > 20
    # holding the rows would take hundreds of MB; streaming stays at a few MB, flat after warm-up
    assert early_peak < 16_000_000
    assert late_peak < early_peak + 4_000_000
