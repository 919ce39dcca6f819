"""What ``sisi produce`` tells an agency: reasons in its file's terms, files of another layout,
dry-run reports that do not overwrite a real one, payments left unsent, exit codes."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from hub.agreements import demo_private_key
from hub.errors import InputFileError
from hub.settings import REPO_ROOT
from hub.validation.issues import REASON_CODES
from producers import ProduceOptions, produce_file
from producers.mapping import RowReader
from producers.summary import describe_code
from tests.producers.conftest import agreement, env_for

PAM = "CONV-BIENESTAR-PAM-2026"
LEON = "CONV-LEON-JEFAS-2026"
EDOMEX = "CONV-EDOMEX-MCB-2026"
BUEMS = "CONV-CNBBBJ-BUEMS-2026"
SISI = str(REPO_ROOT / ".venv" / "bin" / "sisi")


def _produce(settings, agreement_id: str, path: Path, **options):
    found = agreement(agreement_id)
    return produce_file(
        found, demo_private_key(agreement_id), ProduceOptions(input=path, **options), settings
    )


def _sisi(settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SISI, *args], env=env_for(settings), capture_output=True, text=True, timeout=300
    )


def _spoil_leon(path: Path) -> None:
    """Rows 1-4 get problems: an ISO date, two ISO dates, a sex code not in the table, a
    missing column; the rest stay good."""
    lines = path.read_text(encoding="utf-8").splitlines()
    cells = [line.split("\t") for line in lines]
    cells[0][11] = "2026-01-15"  # payment date in ISO, the agreement says DD-MMM-YYYY
    cells[1][5], cells[1][11] = "1980-02-01", "2026-01-15"  # two bad dates in one row
    cells[2][6] = "7"  # sex code table: 1, 2
    del cells[3][-1]
    path.write_text("\n".join("\t".join(row) for row in cells) + "\n", encoding="utf-8")


def test_reasons_are_told_in_the_agreements_terms_and_counted_by_row(settings, synth) -> None:
    path = synth(LEON, people=20)
    _spoil_leon(path)
    summary = _produce(settings, LEON, path, dry_run=True)
    assert summary.invalid_rows == 4
    # rows per code, not issues: the row with two bad dates counts once
    assert summary.invalid_by_code == {"DATE_FORMAT": 2, "CODE_UNKNOWN": 1, "ROW_COLUMNS": 1}
    text = summary.render()
    assert "inválidos:            4 filas" in text
    assert "filas por motivo (una fila puede tener más de un motivo):" in text
    assert (
        "DATE_FORMAT: la fecha no existe o no tiene el formato que declara el convenio: "
        "DD-MMM-YYYY (por ejemplo 05-MAR-1952)"
    ) in text
    assert "AAAA-MM-DD" not in text
    for code in ("ROW_COLUMNS", "CODE_UNKNOWN"):
        line = next(line for line in text.splitlines() if f"  {code}: " in line)
        description = line.split(f"{code}: ", 1)[1]
        assert description == REASON_CODES[code] and code not in description
    assert summary.to_json()["invalid_reasons"]["DATE_FORMAT"].endswith("05-MAR-1952)")
    # each row of the report keeps its own precise reason
    with Path(summary.report or "").open(encoding="utf-8-sig", newline="") as handle:
        reasons = [row["motivo"] for row in csv.DictReader(handle)]
    assert "la fecha '2026-01-15' no tiene el formato 'DD-MMM-YYYY' (ejemplo: '05-MAR-1952')" in (
        reasons
    )


def test_every_code_the_mapping_or_validation_gives_has_a_spanish_description() -> None:
    emitted: set[str] = set()
    pattern = re.compile(
        r"(?:FieldConversionError|ValidationIssue|make_issue)\(\s*[^()]*?\"([A-Z][A-Z_]+)\"", re.S
    )
    for folder in ("producers", "hub/validation"):
        for source in (REPO_ROOT / folder).rglob("*.py"):
            emitted |= set(pattern.findall(source.read_text(encoding="utf-8")))
    emitted |= {"VALUE_INVALID", "DATE_FORMAT", "AMOUNT_FORMAT"}  # the mapper's fallbacks
    assert {"ROW_COLUMNS", "CODE_UNKNOWN", "INTEGER_INVALID", "BOOLEAN_INVALID"} <= emitted
    for code in sorted(emitted):
        assert code in REASON_CODES, code
        assert describe_code(code) == REASON_CODES[code]
    assert "sin descripción" not in describe_code("NO_SUCH_CODE")
    assert "NO_SUCH_CODE" not in describe_code("NO_SUCH_CODE")


def test_a_file_of_another_layout_is_refused_with_the_expected_layout(
    settings, synth, tmp_path: Path
) -> None:
    pipe = synth(PAM, people=30)  # '|' with a header, given to a headerless TSV agreement
    with pytest.raises(InputFileError) as refused:
        _produce(settings, LEON, pipe)
    message = refused.value.message
    assert f"el archivo no tiene el formato que declara el convenio {LEON}" in message
    assert "31 de 31 filas no tienen el número de columnas esperado" in message
    assert "el archivo parece separado por barras verticales (|)" in message
    assert (
        "El convenio espera texto separado por tabuladores, sin encabezado, con 12 columnas "
        "por fila; no se envió nada"
    ) in message
    # from the command line: exit 2, the reason on stderr, no rejection report beside the file
    done = _sisi(settings, "produce", "--agreement", LEON, "--input", str(pipe))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "no tiene el formato que declara el convenio" in done.stderr
    assert "Qué hacer:" in done.stderr
    assert not Path(str(pipe) + ".rechazos.csv").exists()

    # a header separated by another delimiter than the agreement's
    comma = synth(BUEMS, people=5)
    with pytest.raises(InputFileError) as header:
        _produce(settings, PAM, comma)
    assert "el encabezado está separado por comas (,)" in header.value.message
    assert "texto separado por barras verticales (|), con encabezado (columnas FOLIO" in (
        header.value.message
    )


def test_a_few_ragged_rows_stay_bad_rows(settings, synth) -> None:
    path = synth(LEON, people=20)
    _spoil_leon(path)  # one row of twenty with a column missing
    summary = _produce(settings, LEON, path)
    assert summary.invalid_rows == 4 and summary.altas == 16 and summary.exit_code == 1


def test_a_dry_run_does_not_overwrite_the_report_of_a_real_delivery(settings, synth) -> None:
    path = synth(LEON, people=20)
    _spoil_leon(path)
    real = _produce(settings, LEON, path)
    assert real.report == str(path) + ".rechazos.csv"
    kept = Path(real.report).read_bytes()
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(lines[4:]) + "\n", encoding="utf-8")  # the agency fixes its file
    trial = _produce(settings, LEON, path, dry_run=True)
    assert trial.invalid_rows == 0
    assert trial.report == str(path) + ".prueba.rechazos.csv"
    assert f"reporte de rechazos de la simulación: {trial.report}" in trial.render()
    assert Path(real.report).read_bytes() == kept
    with Path(trial.report).open(encoding="utf-8-sig", newline="") as handle:
        assert len(list(csv.reader(handle))) == 1  # the header only


def test_a_text_file_given_to_an_excel_agreement_is_told_in_spanish(
    settings, synth, tmp_path: Path
) -> None:
    text = tmp_path / "padron.tsv"
    text.write_text("FOLIO\tCURP\tNOMBRE\n1\tX\tANA\n", encoding="utf-8")
    with pytest.raises(InputFileError) as refused:
        _produce(settings, EDOMEX, text)
    message = refused.value.render()
    assert "el archivo no es un libro de Excel: parece texto separado por tabuladores" in message
    assert "el convenio declara un libro de Excel (.xlsx o .xlsm) con encabezado" in message
    assert "Qué hacer: ábralo en Excel y guárdelo como «Libro de Excel (.xlsx)»" in message
    assert "openpyxl" not in message and "does not support" not in message
    old = tmp_path / "padron.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    with pytest.raises(InputFileError, match=r"es un libro de Excel antiguo \(\.xls\)"):
        _produce(settings, EDOMEX, old)
    # a real workbook whose name does not end in .xlsx is read all the same
    book = synth(EDOMEX, people=5)
    renamed = tmp_path / "padron-excel.tsv"
    shutil.copy(book, renamed)
    layout = agreement(EDOMEX).layout
    with RowReader(renamed, layout) as rows:
        assert len(list(rows)) == 5


def test_the_command_line_warns_about_payments_left_unsent_and_exits_0(settings, synth) -> None:
    path = synth(PAM, people=25)
    done = _sisi(settings, "produce", "--agreement", PAM, "--input", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"\n  pagos: +0\n", done.stdout), done.stdout
    assert (
        "aviso: 25 filas traen monto de apoyo, pero no se envió ningún pago porque no se indicó "
        "--period. Para informar esos pagos, ejecute de nuevo con --period AAAA-MM"
    ) in done.stdout
    as_json = _sisi(settings, "produce", "--agreement", PAM, "--input", str(path), "--json")
    data = json.loads(as_json.stdout)
    assert as_json.returncode == 0 and data["payments_without_period"] == 25
    assert data["notices"] and "--period AAAA-MM" in data["notices"][0]


def test_a_malformed_period_is_told_in_spanish(settings, synth) -> None:
    path = synth(PAM, people=3)
    for period, expected in (("2026-13", "el mes va de 01 a 12"), ("26-3", "use AAAA-MM")):
        with pytest.raises(InputFileError) as refused:
            _produce(settings, PAM, path, period=period)
        assert expected in refused.value.message and refused.value.field == "period"


def test_an_excel_file_given_to_a_pipe_agreement_is_told_as_excel(
    settings, synth, tmp_path: Path
) -> None:
    book = synth(EDOMEX, people=3)  # a real workbook, given to PAM's pipe-text agreement
    done = _sisi(settings, "produce", "--agreement", PAM, "--input", str(book), "--dry-run")
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith(
        f"error: {book}: el archivo es un libro de Excel (.xlsx), un archivo comprimido (zip); "
        "el convenio declara texto separado por barras verticales (|) en UTF-8. Qué hacer: "
        "ábralo en Excel y expórtelo como texto separado por barras verticales (|) en UTF-8"
    ), done.stderr
    assert "codificación" not in done.stderr and "Traceback" not in done.stderr
