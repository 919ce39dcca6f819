"""RowReader: delimiters, encodings, skip_rows/header, line numbers, xlsx cells, decoding errors."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from hub.agreements.layout import FileLayout
from hub.errors import InputFileError
from producers.mapping.reader import RowReader, cell_text

GEO = {"cvegeo": {"column": "geo"}}


def layout(**kwargs: object) -> FileLayout:
    kwargs.setdefault("fields", GEO)
    return FileLayout.model_validate(kwargs)


def rows_of(path: Path, lay: FileLayout) -> tuple[list[str] | None, list[tuple[int, list[str]]]]:
    with RowReader(path, lay) as reader:
        return reader.header, list(reader)


def test_pipe_with_titles_blank_lines_and_quotes(tmp_path: Path) -> None:
    path = tmp_path / "padron.txt"
    path.write_text(
        'PADRÓN 2024\nnota "abierta\ncurp|nombre|geo\nA|JOSE "PEPE"|07001\n\nB|ANA|7001\n',
        encoding="utf-8",
    )
    header, rows = rows_of(path, layout(format="pipe", skip_rows=2))
    assert header == ["curp", "nombre", "geo"]
    assert rows == [(4, ["A", 'JOSE "PEPE"', "07001"]), (6, ["B", "ANA", "7001"])]


def test_csv_quoted_multiline_field_keeps_start_line(tmp_path: Path) -> None:
    path = tmp_path / "padron.csv"
    path.write_text('geo,dom\n07001,"CALLE 1,\nCOL. CENTRO"\n07002,X\n', encoding="utf-8")
    header, rows = rows_of(path, layout())
    assert header == ["geo", "dom"]
    assert rows == [(2, ["07001", "CALLE 1,\nCOL. CENTRO"]), (4, ["07002", "X"])]


def test_tsv_without_header(tmp_path: Path) -> None:
    path = tmp_path / "padron.tsv"
    path.write_text("07001\tPÉREZ\n07002\tÑUÑEZ\n", encoding="cp1252")
    lay = layout(format="tsv", header=False, encoding="cp1252", fields={"cvegeo": {"position": 1}})
    header, rows = rows_of(path, lay)
    assert header is None
    assert rows == [(1, ["07001", "PÉREZ"]), (2, ["07002", "ÑUÑEZ"])]


def test_utf8_bom_is_not_part_of_first_column(tmp_path: Path) -> None:
    path = tmp_path / "padron.csv"
    path.write_bytes("geo,x\n07001,1\n".encode("utf-8-sig"))
    header, _ = rows_of(path, layout())
    assert header == ["geo", "x"]


def test_declared_delimiter_overrides_format(tmp_path: Path) -> None:
    path = tmp_path / "padron.csv"
    path.write_text("geo;x\n07001;1,5\n", encoding="utf-8")
    _, rows = rows_of(path, layout(delimiter=";"))
    assert rows == [(2, ["07001", "1,5"])]


def test_bad_encoding_names_file_line_encoding_and_remedy(tmp_path: Path) -> None:
    path = tmp_path / "padron.csv"
    lines = ["geo,nombre"] + [f"07{i:03d},ANA" for i in range(1, 5000)] + ["07999,MUÑOZ"]
    path.write_bytes("\n".join(lines).encode("cp1252"))
    with pytest.raises(InputFileError) as info, RowReader(path, layout()) as reader:
        for _ in reader:
            pass
    error = info.value
    assert error.line == 5001
    assert error.path == str(path)
    text = str(error)
    assert "utf-8" in text
    assert "declare encoding: cp1252" in text
    assert f"{path}:5001" in text


def test_cp1252_undefined_byte_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "padron.csv"
    path.write_bytes(b"geo,x\n07001,\x81\n")
    with pytest.raises(InputFileError) as info, RowReader(path, layout(encoding="cp1252")) as r:
        list(r)
    assert info.value.line == 2


def test_unterminated_quote_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "padron.csv"
    path.write_text('geo,x\n07001,"abc\n' + "07002,y\n" * 30000, encoding="utf-8")
    with pytest.raises(InputFileError) as info, RowReader(path, layout()) as reader:
        list(reader)
    assert info.value.line == 2
    assert "comillas" in str(info.value)


def test_missing_file_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="no existe"):
        RowReader(tmp_path / "nada.csv", layout()).__enter__()
    empty = tmp_path / "vacio.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(InputFileError, match="encabezado"):
        RowReader(empty, layout()).__enter__()


def test_xlsx_named_sheet_skip_rows_and_cell_text(tmp_path: Path) -> None:
    book = Workbook()
    book.active.title = "Portada"
    book.active.append(["nada"])
    sheet = book.create_sheet("Padron")
    sheet.append(["Padrón de beneficiarios"])
    sheet.append(["geo", "monto", "fecha", "flag", "n"])
    sheet.append([7001, 1500.5, date(1952, 3, 5), True, 0.1 + 0.2])
    sheet.append([])
    sheet.append(["07002", 2000.0, datetime(2001, 9, 17, 0, 0), False, None])
    path = tmp_path / "padron.xlsx"
    book.save(path)
    header, rows = rows_of(path, layout(format="xlsx", sheet="Padron", skip_rows=1))
    assert header == ["geo", "monto", "fecha", "flag", "n"]
    assert rows == [
        (3, ["7001", "1500.5", "1952-03-05", "TRUE", "0.3"]),
        (5, ["07002", "2000", "2001-09-17", "FALSE"]),
    ]


def test_xlsx_unknown_sheet_lists_sheets(tmp_path: Path) -> None:
    book = Workbook()
    book.active.title = "Hoja1"
    path = tmp_path / "padron.xlsx"
    book.save(path)
    with pytest.raises(InputFileError, match="Hoja1"):
        RowReader(path, layout(format="xlsx", sheet="Padron")).__enter__()


def test_not_an_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "padron.xlsx"
    path.write_text("geo\n07001\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="xlsx"):
        RowReader(path, layout(format="xlsx")).__enter__()


@pytest.mark.parametrize(
    ("value", "separator", "expected"),
    [
        (None, ".", ""),
        (12, ".", "12"),
        (12.0, ".", "12"),
        (1234.5, ",", "1234,5"),
        (0.1 + 0.2, ".", "0.3"),
        (1e20, ".", "100000000000000000000"),
        (True, ".", "TRUE"),
        (datetime(2020, 1, 2, 13, 5), ".", "2020-01-02 13:05:00"),
    ],
)
def test_cell_text(value: object, separator: str, expected: str) -> None:
    assert cell_text(value, separator) == expected
