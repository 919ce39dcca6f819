"""``RowMapper.map_many`` gives every row the values (in the same order) and issues of ``map``."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pytest

from hub.agreements.layout import FileLayout
from hub.validation.geography import GeoCatalog
from producers.mapping import RowReader, compile_layout
from tests.producers.conftest import PADRONES, agreement

from .conftest import make_curp

MARIA = make_curp("PEREZ", "LOPEZ", "MARIA", date(1952, 3, 5), "M", "CS")


def _same_as_map(path: Path, layout: FileLayout, catalog: GeoCatalog) -> int:
    """Compare both ways on every row of ``path``, in chunks of several sizes; rows compared."""
    with RowReader(path, layout) as reader:
        header = reader.header
        rows = list(reader)
    one = compile_layout(layout, header, catalog=catalog)
    expected = [one.map(line, row) for line, row in rows]
    assert one.map_many([]) == ([], [])
    for size in (1, 3, 64, len(rows) or 1):
        many = compile_layout(layout, header, catalog=catalog)
        for _ in range(2):  # the second pass answers from the memos
            for start in range(0, len(rows), size):
                chunk = rows[start : start + size]
                values, issues = many.map_many(chunk)
                for record, got_values, got_issues in zip(
                    expected[start : start + size], values, issues, strict=True
                ):
                    assert got_values == record.values, record.line
                    assert list(got_values) == list(record.values), record.line  # key order
                    assert got_issues == record.issues, record.line
    return len(rows)


@pytest.mark.parametrize("agreement_id", PADRONES)
def test_synthetic_padrones_with_errors(synth, catalog, agreement_id: str) -> None:
    path = synth(agreement_id, people=300, error_rate=0.3)
    assert _same_as_map(path, agreement(agreement_id).layout, catalog) > 250


def _pipe(tmp_path: Path, lines: Sequence[str]) -> Path:
    path = tmp_path / "padron.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_ragged_rows_empty_cells_and_bad_values(tmp_path: Path, catalog) -> None:
    lines = ["folio|fnac|sexo|monto|geo|edad|nombre"]
    cells = [
        ["A", "B", "", " C "],
        ["1952-03-05", "1952-02-30", "", "05/03/1952"],
        ["H", "Q", "", " m "],
        ["100.50", "1O0", "", "-3"],
        ["070010001", "999990001", "", "7001", "abc", "0700100010"],
        ["70", "setenta", ""],
        ["ANA", "", "  JOSÉ  LUIS ", "R0SA"],
    ]
    rng = random.Random(11)
    for _ in range(400):
        row = [rng.choice(options) for options in cells]
        cut = rng.random()
        if cut < 0.1:
            row = row[: rng.randrange(len(row))]  # too few columns
        elif cut < 0.15:
            row = [*row, "extra"]  # too many
        lines.append("|".join(row))
    layout = FileLayout.model_validate(
        {
            "format": "pipe",
            "fields": {
                "reference_id": {"column": "folio"},
                "fecha_nacimiento": {"column": "fnac"},
                "sexo": {"column": "sexo"},
                "monto": {"column": "monto"},
                "cvegeo": {"column": "geo"},
                "edad": {"column": "edad"},
                "nombre": {"column": "nombre"},
                "clave_programa": {"constant": "S176"},
            },
        }
    )
    assert _same_as_map(_pipe(tmp_path, lines), layout, catalog) > 380  # empty lines skipped


def test_sums_derivation_constants_and_split_keys(tmp_path: Path, catalog) -> None:
    lines = ["id|curp|mun|loc|federal|estatal"]
    rng = random.Random(5)
    for i in range(300):
        curp = rng.choice([MARIA, "XXXX", "", MARIA.lower()])
        mun = rng.choice(["1", "001", "999", "", "01001"])
        loc = rng.choice(["1", "0001", "9998", "", "x"])
        federal = rng.choice(["100", "", "1,000.50", "bad"])
        estatal = rng.choice(["50.25", "", "0"])
        lines.append(f"R{i}|{curp}|{mun}|{loc}|{federal}|{estatal}")
    layout = FileLayout.model_validate(
        {
            "format": "pipe",
            "thousands_separator": ",",
            "fields": {
                "reference_id": {"column": "id"},
                "curp": {"column": "curp"},
                "fecha_nacimiento": {"derive": "curp"},
                "sexo": {"derive": "curp"},
                "entidad_nacimiento": {"derive": "curp"},
                "cve_ent": {"constant": "1"},
                "cve_mun": {"column": "mun"},
                "cve_loc": {"column": "loc"},
                "monto": {"columns": ["federal", "estatal"]},
                "tipo_beneficio": {"constant": "MONETARIO"},
            },
        }
    )
    assert _same_as_map(_pipe(tmp_path, lines), layout, catalog) == 300


def test_layouts_of_constants_only_and_of_plain_columns(tmp_path: Path, catalog) -> None:
    lines = ["a|b", *(f"{i}|x" for i in range(20))]
    place = {"cve_ent": {"constant": "9"}, "cve_mun": {"constant": "2"}}
    only_constants = FileLayout.model_validate(
        {"format": "pipe", "fields": {"clave_programa": {"constant": "S176"}, **place}}
    )
    assert _same_as_map(_pipe(tmp_path, lines), only_constants, catalog) == 20
    plain = FileLayout.model_validate(
        {
            "format": "pipe",
            "fields": {"reference_id": {"column": "a"}, "nombre": {"column": "b"}, **place},
        }
    )
    assert _same_as_map(_pipe(tmp_path, lines), plain, catalog) == 20
