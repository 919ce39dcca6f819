"""A workbook, archive or PDF given to an agreement that declares delimited text is named for
what it is, with the declared layout to export it as (not an encoding error, not garbage rows)."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from hub.agreements.layout import FileLayout
from hub.errors import InputFileError
from producers.mapping.reader import RowReader, text_spans

GEO = {"cvegeo": {"column": "geo"}}


def layout(**kwargs: object) -> FileLayout:
    kwargs.setdefault("fields", GEO)
    return FileLayout.model_validate(kwargs)


def _refusal(path: Path, lay: FileLayout) -> str:
    with pytest.raises(InputFileError) as refused, RowReader(path, lay) as rows:
        list(rows)
    return refused.value.render()


def _workbook(path: Path) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["geo", "CURP", "NOMBRE"])
    sheet.append(["07001", "LOAA800101HDFPRL09", "ANA ÑUÑEZ"])
    book.save(path)
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252", "latin-1"])
def test_an_excel_workbook_given_to_a_pipe_agreement(tmp_path: Path, encoding: str) -> None:
    # latin-1 decodes every byte: without the check the zip would be read as rows of garbage
    book = _workbook(tmp_path / "padron.txt")  # the name does not matter, the content does
    text = _refusal(book, layout(format="pipe", encoding=encoding))
    name = {"utf-8": "UTF-8", "cp1252": "Windows-1252 (ANSI)", "latin-1": "Latin-1 (ISO-8859-1)"}
    declared = f"texto separado por barras verticales (|) en {name[encoding]}"
    assert text == (
        f"{book}: el archivo es un libro de Excel (.xlsx), un archivo comprimido (zip); el "
        f"convenio declara {declared}. Qué hacer: ábralo en Excel y expórtelo como {declared}, "
        "o genere ese texto en el sistema de origen; si la dependencia entrega ahora ese "
        "formato, pida al operador del hub que actualice el formato del convenio"
    )
    assert "codificación" not in text


def test_excel_says_which_save_as_gives_the_declared_text(tmp_path: Path) -> None:
    book = _workbook(tmp_path / "padron.xlsx")
    csv_utf8 = _refusal(book, layout(format="csv"))
    assert "el convenio declara texto separado por comas (CSV) en UTF-8" in csv_utf8
    assert "(en Excel: Archivo → Guardar como → «CSV UTF-8 (delimitado por comas)»)" in csv_utf8
    csv_ansi = _refusal(book, layout(format="csv", encoding="cp1252"))
    assert "«CSV (delimitado por comas)»" in csv_ansi
    tsv = _refusal(book, layout(format="tsv"))
    assert "texto separado por tabuladores en UTF-8" in tsv
    assert "«Texto (delimitado por tabulaciones)»" in tsv
    semicolon = _refusal(book, layout(format="csv", delimiter=";"))
    assert "el convenio declara texto separado por ';' en UTF-8" in semicolon
    assert "Guardar como" not in semicolon


def test_old_excel_ods_zip_gzip_pdf_and_utf16(tmp_path: Path) -> None:
    pipe = layout(format="pipe")
    xls = tmp_path / "a.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    assert "el archivo es un libro de Excel antiguo (.xls);" in _refusal(xls, pipe)
    ods = tmp_path / "a.ods"
    with zipfile.ZipFile(ods, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
    assert "es una hoja de cálculo de LibreOffice (.ods)" in _refusal(ods, pipe)
    archive_path = tmp_path / "padron.zip"
    with zipfile.ZipFile(archive_path, "w") as archive:
        archive.writestr("padron.txt", "geo|x\n07001|1\n")
    zipped = _refusal(archive_path, pipe)
    assert "el archivo es un archivo comprimido (zip);" in zipped
    assert "Qué hacer: descomprímalo y entregue el archivo de texto separado por barras" in zipped
    packed = tmp_path / "padron.txt.gz"
    packed.write_bytes(gzip.compress(b"geo|x\n07001|1\n"))
    assert "es un archivo comprimido (gzip)" in _refusal(packed, pipe)
    pdf = tmp_path / "padron.pdf"
    pdf.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    assert "es un PDF" in _refusal(pdf, pipe)
    wide = tmp_path / "padron-utf16.txt"
    wide.write_text("geo|x\n07001|1\n", encoding="utf-16")
    utf16 = _refusal(wide, pipe)
    assert "es texto en UTF-16 (Unicode de 2 bytes)" in utf16
    assert "Guardar como → Codificación UTF-8" in utf16


def test_text_files_are_still_read_and_split(tmp_path: Path) -> None:
    path = tmp_path / "padron.txt"
    path.write_text("geo|x\n" + "".join(f"0700{n}|{n}\n" for n in range(1, 9)), encoding="utf-8")
    pipe = layout(format="pipe")
    with RowReader(path, pipe) as rows:
        assert len(list(rows)) == 8
    assert text_spans(path, pipe, 2) is not None
    book = _workbook(tmp_path / "libro.xlsx")
    with pytest.raises(InputFileError, match="libro de Excel"):
        text_spans(book, pipe, 2)  # read in parts: refused before any cut
