"""A badly formed CURP is one problem, not three: its derived fields are not also "missing".

CONV-CNBBBJ-BUEMS-2026 derives fecha_nacimiento, sexo and entidad_nacimiento from the CURP
(``derive: curp``). A CURP that cannot be read leaves them empty; the row is rejected for the
CURP's own error, and the derived fields' REQUIRED errors are not added (they inflated the counts
by reason in the summary and pointed the agency at columns its file does not have). A missing
CURP that is not required has no error of its own: the derived REQUIRED errors stay.
"""

from __future__ import annotations

import csv
from pathlib import Path

from hub.agreements import demo_private_key
from hub.validation.geography import GeoCatalog
from producers import ProduceOptions, produce_file
from producers.mapping.records import curp_derived, read_records
from tests.producers.conftest import Synth, agreement

BUEMS = "CONV-CNBBBJ-BUEMS-2026"
PAM = "CONV-BIENESTAR-PAM-2026"


def _spoil(path: Path, encoding: str, delimiter: str, edits: dict[int, dict[str, str]]) -> None:
    """Rewrite cells of the file: ``edits`` maps a data row (1 = first after the header) to
    {column: new text}."""
    with path.open(encoding=encoding, newline="") as handle:
        rows = list(csv.reader(handle, delimiter=delimiter))
    header = rows[0]
    for row, cells in edits.items():
        for column, text in cells.items():
            rows[row][header.index(column)] = text
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle, delimiter=delimiter, lineterminator="\n").writerows(rows)


def _cell(path: Path, encoding: str, delimiter: str, row: int, column: str) -> str:
    with path.open(encoding=encoding, newline="") as handle:
        rows = list(csv.reader(handle, delimiter=delimiter))
    return rows[row][rows[0].index(column)]


def _buems_file(synth: Synth) -> Path:
    path = synth(BUEMS, people=20)
    good = _cell(path, "cp1252", ",", 3, "CURP")
    other = "0" if good[17] != "0" else "1"
    _spoil(
        path,
        "cp1252",
        ",",
        {
            1: {"CURP": "BAAA12AB56HDFTGLK3"},  # structure: letters where the birth date goes
            2: {"CURP": ""},  # no CURP: nothing to derive the birth date and sex from
            3: {"CURP": good[:17] + other},  # readable, wrong check digit: derived as usual
        },
    )
    return path


def _issues(path: Path, agreement_id: str) -> dict[int, list[tuple[str, str]]]:
    layout = agreement(agreement_id).layout
    return {
        record.line: sorted((i.field, i.code) for i in record.issues if i.severity == "error")
        for record in read_records(path, layout, catalog=GeoCatalog.load())
        if record.issues
    }


def test_the_layout_says_which_fields_come_from_the_curp() -> None:
    assert curp_derived(agreement(BUEMS).layout) == {
        "fecha_nacimiento",
        "sexo",
        "entidad_nacimiento",
    }
    assert curp_derived(agreement(PAM).layout) == frozenset()


def test_a_bad_curp_is_reported_once_by_the_mapping(synth: Synth) -> None:
    found = _issues(_buems_file(synth), BUEMS)
    assert found[2] == [("curp", "CURP_STRUCTURE")]  # no REQUIRED fecha_nacimiento / sexo
    assert found[3] == [("fecha_nacimiento", "REQUIRED"), ("sexo", "REQUIRED")]
    assert found[4] == [("curp", "CURP_CHECK_DIGIT")]
    assert set(found) == {2, 3, 4}


def test_fields_read_from_their_own_columns_stay_required(synth: Synth) -> None:
    """PAM reads the birth date from FEC_NAC: a bad CURP does not excuse an empty FEC_NAC."""
    path = synth(PAM, people=10)
    _spoil(path, "utf-8", "|", {1: {"CURP": "BAAA12AB56HDFTGLK3", "FEC_NAC": ""}})
    found = _issues(path, PAM)
    assert ("curp", "CURP_STRUCTURE") in found[2]
    assert ("fecha_nacimiento", "REQUIRED") in found[2]


def test_the_dry_run_counts_a_bad_curp_once(settings, synth: Synth, tmp_path: Path) -> None:
    path = _buems_file(synth)
    report = tmp_path / "rechazos.csv"
    summary = produce_file(
        agreement(BUEMS),
        demo_private_key(BUEMS),
        ProduceOptions(input=path, dry_run=True, report=report),
        settings,
    )
    assert summary.invalid_rows == 3
    # REQUIRED counts the row without CURP only (a row with two problems counts under both)
    assert summary.invalid_by_code == {"CURP_STRUCTURE": 1, "CURP_CHECK_DIGIT": 1, "REQUIRED": 1}
    with report.open(encoding="utf-8-sig", newline="") as handle:
        reported = [(r["linea"], r["codigo"]) for r in csv.DictReader(handle)]
    assert sorted(reported) == [
        ("2", "CURP_STRUCTURE"),
        ("3", "REQUIRED"),
        ("3", "REQUIRED"),
        ("4", "CURP_CHECK_DIGIT"),
    ]
