"""What a new agency meets on its first deliveries: ragged rows, the rejection report, dry runs."""

from __future__ import annotations

import csv
import re
import subprocess
import tempfile
from pathlib import Path

from hub.agreements import demo_private_key
from hub.settings import REPO_ROOT
from producers import ProduceOptions, produce_file
from tests.producers.conftest import agreement, env_for

PAM = "CONV-BIENESTAR-PAM-2026"
LEON = "CONV-LEON-JEFAS-2026"


def _produce(settings, agreement_id: str, path: Path, **options):
    found = agreement(agreement_id)
    return produce_file(
        found, demo_private_key(agreement_id), ProduceOptions(input=path, **options), settings
    )


def _report(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_row_missing_a_column_counts_once_under_row_columns(settings, synth) -> None:
    path = synth(LEON, people=20)
    lines = path.read_text(encoding="utf-8").splitlines()
    cells = lines[4].split("\t")
    del cells[3]  # its later cells shift: a date where the amount was, an address as locality
    lines[4] = "\t".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = _produce(settings, LEON, path, dry_run=True)
    assert summary.invalid_rows == 1
    assert summary.invalid_by_code == {"ROW_COLUMNS": 1}
    assert summary.altas == 19
    rows = _report(Path(summary.report or ""))
    assert [(r["linea"], r["referencia"], r["codigo"]) for r in rows] == [
        ("5", cells[0], "ROW_COLUMNS")
    ]
    assert rows[0]["motivo"].startswith(
        f"la línea 5 de {path.name} tiene 11 columnas separadas por tabuladores y el formato "
        "del convenio espera 12 columnas; falta 1 columna"
    )
    assert "1 columnas" not in summary.render()


def test_the_report_names_fields_by_the_agencys_columns(settings, synth) -> None:
    """``campo`` leads with the column of the agency's file, the agreement's name after it."""
    path = synth(PAM, people=60, error_rate=0.2)
    summary = _produce(settings, PAM, path, dry_run=True)
    rows = _report(Path(summary.report or ""))
    assert list(rows[0]) == ["linea", "referencia", "campo", "columna", "codigo", "motivo"]
    fields = agreement(PAM).layout.fields
    labels = {r["campo"] for r in rows}
    assert "FOLIO (reference_id)" in labels  # an emptied folio
    for row in rows:
        canonical = row["campo"].rsplit(" (", 1)[-1].rstrip(")")
        column = fields[canonical].column
        assert column and row["columna"] == column
        assert row["campo"] == f"{column} ({canonical})"
    injected = _report(Path(str(path) + ".errores.csv"))
    assert list(injected[0]) == ["linea", "referencia", "campo", "tipo_error"]


def test_fields_no_column_holds_keep_their_names() -> None:
    from producers.summary import report_columns, report_field

    places = report_columns(agreement("CONV-CNBBBJ-BUEMS-2026").layout)
    assert report_field("cve_mun", places["cve_mun"]) == f"{places['cvegeo']} (cve_mun)"
    assert report_field("sexo", places["sexo"]) == "sexo"  # derivado de la CURP
    assert report_field("fila", places.get("fila", "")) == "fila"
    leon = report_columns(agreement(LEON).layout)
    assert report_field("fecha_beneficio", leon["fecha_beneficio"]) == (
        "columna 12 (fecha_beneficio)"
    )


def test_a_dry_run_creates_no_state_directory(settings, synth, tmp_path, monkeypatch) -> None:
    """Without local state a dry run stages in a temporary directory it removes."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    path = synth(PAM, people=30)
    summary = _produce(settings, PAM, path, dry_run=True)
    assert (summary.read, summary.altas, summary.invalid_rows) == (30, 30, 0)
    assert not settings.data_dir.exists()
    assert list(scratch.iterdir()) == []
    assert Path(summary.report or "").exists()  # the dry run's report, beside the file


def test_the_command_line_dry_run_leaves_the_data_dir_alone(settings, synth) -> None:
    path = synth(PAM, people=20)
    result = subprocess.run(
        [
            str(REPO_ROOT / ".venv" / "bin" / "sisi"),
            "produce",
            "--agreement",
            PAM,
            "--input",
            str(path),
            "--dry-run",
        ],
        env=env_for(settings),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "simulación: no se envió nada" in result.stdout
    assert re.search(r"altas:\s+20\n", result.stdout), result.stdout
    assert not (settings.data_dir / "producer").exists()


def test_a_dry_run_after_a_delivery_compares_with_its_snapshot(settings, synth) -> None:
    first = synth(PAM, people=30)
    assert _produce(settings, PAM, first).altas == 30
    second = synth(PAM, people=30, delivery=2)
    trial = _produce(settings, PAM, second, dry_run=True)
    real = _produce(settings, PAM, second)
    assert (trial.altas, trial.cambios, trial.bajas) == (real.altas, real.cambios, real.bajas)
    assert trial.altas < 30
