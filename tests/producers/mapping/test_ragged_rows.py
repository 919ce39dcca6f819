"""A row with another number of columns gets one ROW_COLUMNS issue and nothing else.

Its cells are shifted: reading its fields would report a date as a bad amount or an address as a
bad locality key, and those follow-on errors would inflate the counts by reason.
"""

from __future__ import annotations

from pathlib import Path

from hub.validation.geography import GeoCatalog
from producers.mapping import MappedRecord, read_records
from producers.mapping.mapper import ragged_row_message
from producers.synth.padron import generate_padron
from producers.synth.writer import write_records
from tests.producers.conftest import agreement

LEON = "CONV-LEON-JEFAS-2026"  # tab-separated, read by position (no header)
BUEMS = "CONV-CNBBBJ-BUEMS-2026"  # comma-separated with a header, cp1252
PAM = "CONV-BIENESTAR-PAM-2026"  # pipe-separated with a header


def _padron(agreement_id: str, out: Path, people: int = 6) -> list[list[str]]:
    found = agreement(agreement_id)
    write_records(generate_padron(found, people, 1, 1, 0.0), found.layout, out, title=found.title)
    return [line.split(found.layout.effective_delimiter) for line in _lines(out, agreement_id)]


def _lines(path: Path, agreement_id: str) -> list[str]:
    return path.read_text(encoding=agreement(agreement_id).layout.encoding).splitlines()


def _write(path: Path, agreement_id: str, rows: list[list[str]]) -> None:
    layout = agreement(agreement_id).layout
    text = "\n".join(layout.effective_delimiter.join(row) for row in rows) + "\n"
    path.write_text(text, encoding=layout.encoding)


def _read(path: Path, agreement_id: str, catalog: GeoCatalog) -> list[MappedRecord]:
    return list(read_records(path, agreement(agreement_id).layout, catalog=catalog))


def test_a_row_missing_a_column_gets_only_row_columns(tmp_path: Path, catalog: GeoCatalog) -> None:
    path = tmp_path / "leon.txt"
    rows = _padron(LEON, path)
    folio = rows[2][0]
    del rows[2][3]  # the second surname: every later cell moves one column to the left
    _write(path, LEON, rows)
    found = {record.line: record for record in _read(path, LEON, catalog)}
    ragged = found[3]
    assert [(i.field, i.code) for i in ragged.issues] == [("fila", "ROW_COLUMNS")]
    message = ragged.issues[0].message
    assert message.startswith(
        "la línea 3 de leon.txt tiene 11 columnas separadas por tabuladores y el formato del "
        "convenio espera 12 columnas; falta 1 columna"
    ), message
    assert ragged.values["reference_id"] == folio  # the report names the row
    assert all(not r.issues for line, r in found.items() if line != 3)


def test_a_delimiter_inside_a_value_gets_only_row_columns(
    tmp_path: Path, catalog: GeoCatalog
) -> None:
    path = tmp_path / "pam.txt"
    rows = _padron(PAM, path)
    header = rows[0]
    address = header.index("DOMICILIO")
    rows[2][address] += "|INT. 4"  # a '|' in the address: one column too many
    rows[3] = rows[3][:1]  # a cut line: only the folio
    _write(path, PAM, rows)
    found = {record.line: record for record in _read(path, PAM, catalog)}
    for line in (3, 4):
        assert [(i.field, i.code) for i in found[line].issues] == [("fila", "ROW_COLUMNS")]
    extra = found[3].issues[0].message
    width = len(header)
    assert f"la línea 3 de pam.txt tiene {width + 1} columnas separadas por barras" in extra
    assert f"el encabezado del archivo tiene {width} columnas; sobra 1 columna" in extra
    assert "contiene el carácter |" in extra
    cut = found[4].issues[0].message
    assert f"la línea 4 de pam.txt tiene 1 columna y el encabezado del archivo tiene {width}" in (
        cut
    )
    assert "1 columnas" not in cut


def test_the_batch_reader_gives_the_same_single_issue(tmp_path: Path, catalog: GeoCatalog) -> None:
    """``map_many`` (the delivery's path) maps ragged rows through ``map`` as well."""
    from producers.mapping import RowReader, compile_layout

    path = tmp_path / "becas.csv"
    rows = _padron(BUEMS, path)
    del rows[5][2]
    _write(path, BUEMS, rows)
    layout = agreement(BUEMS).layout
    with RowReader(path, layout) as reader:
        mapper = compile_layout(layout, reader.header, catalog=catalog, file_name=path.name)
        numbered = list(reader)
    _, issues = mapper.map_many(numbered)
    by_line = {line: found for (line, _), found in zip(numbered, issues, strict=True)}
    assert [(i.field, i.code) for i in by_line[6]] == [("fila", "ROW_COLUMNS")]
    assert "la línea 6 de becas.csv" in by_line[6][0].message


def test_the_message_agrees_in_number() -> None:
    one = ragged_row_message(1, 2, 2, line=7, file_name="a.txt", delimiter="\t")
    assert one.startswith("la línea 7 de a.txt tiene 1 columna y el encabezado del archivo tiene")
    assert "no trae ningún separador (tabuladores)" in one
    two = ragged_row_message(4, 2, 2, line=7, delimiter=",")
    assert "sobran 2 columnas" in two and "comillas dobles" in two
    short = ragged_row_message(3, None, 5, line=1_234, delimiter="|")
    assert "la línea 1,234 tiene 3 columnas" in short and "faltan 2 columnas" in short
