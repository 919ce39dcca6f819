"""The pieces of ``sisi up`` a user reads: the export line and the demo's delivery summaries."""

from __future__ import annotations

import json
from pathlib import Path

from hub.cli.demo_agencies import delivery_summary as _delivery_summary
from hub.cli.up import _environment_line
from hub.settings import Settings


def test_no_export_line_at_the_default_ports(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    line = _environment_line(
        Settings(),
        bootstrap_servers="127.0.0.1:9092",
        registry_url="http://127.0.0.1:8081",
        data_dir=(tmp_path / "var").resolve(),
    )
    assert line is None


def test_the_export_line_names_what_differs(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    line = _environment_line(
        Settings(),
        bootstrap_servers="127.0.0.1:29092",
        registry_url="http://127.0.0.1:28081",
        data_dir=(tmp_path / "var").resolve(),
    )
    assert line == (
        "Para los demás comandos: export SISI_BOOTSTRAP_SERVERS=127.0.0.1:29092 "
        "SISI_SCHEMA_REGISTRY_URL=http://127.0.0.1:28081"
    )
    data = tmp_path / "mis datos"
    only_data = _environment_line(
        Settings(data_dir=data),
        bootstrap_servers="127.0.0.1:9092",
        registry_url="http://127.0.0.1:8081",
        data_dir=data,
    )
    assert only_data == f"Para los demás comandos: export SISI_DATA_DIR='{data}'"


def _produce_json(**changes: object) -> str:
    data: dict[str, object] = {
        "agreement_id": "CONV-X",
        "altas": 290,
        "cambios": 12,
        "bajas": 4,
        "bajas_on_hold": 0,
        "pagos": 280,
        "invalid_rows": 0,
        "change_sets": 3,
        "published": 3,
        "unpublished": 0,
        "waited": True,
        "accepted": 586,
        "rejected": 0,
        "rejected_by_code": {},
        "awaiting_receipt": 0,
        "report": None,
        "exit_code": 0,
    }
    data.update(changes)
    return json.dumps(data)


def test_a_clean_delivery_is_summarised_in_one_line() -> None:
    text = _delivery_summary(0, _produce_json(), "")
    assert text == (
        "altas 290 · cambios 12 · bajas 4 · pagos 280 · inválidos 0 · "
        "conjuntos publicados 3 de 3 · elementos aceptados 586, rechazados 0"
    )
    assert "código" not in text


def test_invalid_rows_are_explained_with_the_report() -> None:
    out = _produce_json(
        invalid_rows=3,
        bajas_on_hold=2,
        rejected=1,
        rejected_by_code={"CURP_SEX_MISMATCH": 1},
        report="/tmp/entrega-001.csv.rechazos.csv",
        exit_code=1,
    )
    text = _delivery_summary(1, out, "")
    assert "bajas 4 (2 retenidas: hay filas sin folio)" in text
    assert "inválidos 3" in text
    assert "rechazados 1 (CURP_SEX_MISMATCH 1)" in text
    assert "con filas inválidas (vea el reporte): /tmp/entrega-001.csv.rechazos.csv" in text
    assert "código 1" not in text


def test_a_failed_delivery_shows_its_error_short() -> None:
    error = json.dumps({"error": "convenio desconocido 'X'", "exit_code": 2})
    text = _delivery_summary(2, error, "error: convenio desconocido 'X'\n")
    assert text == "falló (código 2): convenio desconocido 'X'"
    crashed = _delivery_summary(1, "", "Traceback\n" + "x" * 1000)
    assert crashed.startswith("falló (código 1): Traceback | xxx")
    assert len(crashed) < 430
