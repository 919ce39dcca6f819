"""Reading a text file in byte ranges gives exactly its rows, line numbers and all."""

from __future__ import annotations

import random
from itertools import pairwise
from pathlib import Path

import pytest

from hub.agreements.layout import FileLayout
from producers.mapping import RowReader
from producers.mapping.reader import text_spans


def _layout(**extra: object) -> FileLayout:
    fields = {"reference_id": {"column": "a"}, "cvegeo": {"column": "b"}}
    if extra.get("header") is False:
        fields = {"reference_id": {"position": 1}, "cvegeo": {"position": 2}}
    return FileLayout.model_validate({"format": "pipe", "fields": fields, **extra})


def _rows(path: Path, layout: FileLayout) -> list[tuple[int, list[str]]]:
    with RowReader(path, layout) as reader:
        return list(reader)


def _rows_by_span(path: Path, layout: FileLayout, parts: int) -> list[tuple[int, list[str]]]:
    spans = text_spans(path, layout, parts)
    assert spans is not None and len(spans) == parts
    assert spans[0][0] == 0 and spans[-1][1] == path.stat().st_size
    for before, after in pairwise(spans):
        assert before[1] == after[0] and before[3] == after[2]
    found: list[tuple[int, list[str]]] = []
    for span in spans:
        with RowReader(path, layout, span=span) as reader:
            found += list(reader)
    return found


def _write(path: Path, lines: list[str], ending: str) -> Path:
    path.write_bytes(ending.join(lines).encode("utf-8") + ending.encode())
    return path


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
@pytest.mark.parametrize("parts", [2, 3, 5])
def test_spans_read_every_row_once_with_its_line(tmp_path: Path, ending: str, parts: int) -> None:
    rng = random.Random(parts)
    lines = ["título del padrón", "corte: marzo", "", "a|b"]
    for i in range(3000):
        choice = rng.random()
        lines.append("" if choice < 0.02 else "   " if choice < 0.03 else f"R{i}|ñ{i}|x")
    path = _write(tmp_path / "padron.txt", lines, ending)
    layout = _layout(skip_rows=2)
    expected = _rows(path, layout)
    assert len(expected) > 2800 and expected[0][0] == 5
    assert _rows_by_span(path, layout, parts) == expected


def test_files_without_header_and_tsv_or_csv_without_quotes(tmp_path: Path) -> None:
    lines = [f"R{i}\t0900{i % 10}" for i in range(2000)]
    path = _write(tmp_path / "padron.tsv", lines, "\n")
    tsv = FileLayout.model_validate(
        {
            "format": "tsv",
            "header": False,
            "fields": {"reference_id": {"position": 1}, "cvegeo": {"position": 2}},
        }
    )
    assert _rows_by_span(path, tsv, 4) == _rows(path, tsv)
    csv_path = _write(
        tmp_path / "padron.csv", ["a,b", *(f"R{i},0900{i % 10}" for i in range(900))], "\r\n"
    )
    csv_layout = FileLayout.model_validate(
        {"format": "csv", "fields": {"reference_id": {"column": "a"}, "cvegeo": {"column": "b"}}}
    )
    assert _rows_by_span(csv_path, csv_layout, 3) == _rows(csv_path, csv_layout)


def test_no_spans_where_a_line_may_not_be_a_row(tmp_path: Path) -> None:
    csv_layout = FileLayout.model_validate(
        {"format": "csv", "fields": {"reference_id": {"column": "a"}, "cvegeo": {"column": "b"}}}
    )
    quoted = _write(tmp_path / "q.csv", ["a,b", *(f'R{i},"0900{i}"' for i in range(500))], "\n")
    assert text_spans(quoted, csv_layout, 2) is None  # a quoted value may hold a line break
    bare_cr = _write(tmp_path / "cr.txt", ["a|b", *(f"R{i}|09002" for i in range(500))], "\r")
    assert text_spans(bare_cr, _layout(), 2) is None
    mixed = tmp_path / "mixed.txt"
    mixed.write_bytes(b"a|b\n" + b"R1|09002\r\n" * 300 + b"R2|09\r002\n" + b"R3|09002\n" * 300)
    assert text_spans(mixed, _layout(), 2) is None
    pipe = _write(tmp_path / "p.txt", ["a|b", *(f'R{i}|"0900{i}"' for i in range(500))], "\n")
    assert text_spans(pipe, _layout(), 2) is not None  # pipe files have no quoting
    assert text_spans(pipe, _layout(), 1) is None


def test_a_cut_before_the_end_of_the_header_gives_no_spans(tmp_path: Path) -> None:
    path = _write(tmp_path / "p.txt", ["x" * 5000, "a|b", "R1|09002", "R2|09002"], "\n")
    assert text_spans(path, _layout(skip_rows=1), 2) is None


def test_more_parts_than_lines_leaves_parts_empty(tmp_path: Path) -> None:
    path = _write(tmp_path / "p.txt", ["a|b", *(f"R{i}|09002" for i in range(3))], "\n")
    layout = _layout()
    spans = text_spans(path, layout, 8)
    assert spans is not None
    assert _rows_by_span(path, layout, 8) == _rows(path, layout)
