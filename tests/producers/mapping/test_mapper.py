"""Mapping agency files into canonical records: the shapes agencies really send."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook

from hub.agreements.layout import FileLayout
from hub.errors import InputFileError
from producers.mapping import MappedRecord, compile_layout, read_records

from .conftest import make_curp

MARIA = make_curp("PEREZ", "LOPEZ", "MARIA", date(1952, 3, 5), "M", "CS")
JOSE = make_curp("NUÑEZ", "GARCIA", "JOSE LUIS", date(2001, 9, 17), "H", "GT")


def records(path: Path, lay: FileLayout, catalog: object, **kw: object) -> list[MappedRecord]:
    return list(read_records(path, lay, catalog=catalog, validate=False, **kw))  # type: ignore[arg-type]


def test_pipe_unpadded_geography_and_compact_dates(tmp_path: Path, catalog: object) -> None:
    path = tmp_path / "pam.txt"
    path.write_text(
        "FOLIO|CURP|PRIMER_AP|SEGUNDO_AP|NOMBRES|FEC_NAC|SEXO|ENT_NAC|CVE_EDO|CVE_MUN|CVE_LOC"
        "|MONTO|FEC_PAGO|TITULAR\n"
        f"F1|{MARIA.lower()}| pérez |lópez|maría  de  jesús|19520305|m|7|7|1|1|6,200.00|"
        "20250415|S\n"
        f"F2|{JOSE}|NÚÑEZ||JOSE LUIS|20010917|H|11|11|20|1|6200|20250415|no\n",
        encoding="utf-8",
    )
    lay = FileLayout.model_validate(
        {
            "format": "pipe",
            "date_format": "YYYYMMDD",
            "thousands_separator": ",",
            "fields": {
                "reference_id": {"column": "FOLIO"},
                "curp": {"column": "CURP"},
                "primer_apellido": {"column": "PRIMER_AP"},
                "segundo_apellido": {"column": "SEGUNDO_AP"},
                "nombre": {"column": "NOMBRES"},
                "fecha_nacimiento": {"column": "FEC_NAC"},
                "sexo": {"column": "SEXO"},
                "entidad_nacimiento": {"column": "ENT_NAC", "unpadded": True},
                "cve_ent": {"column": "CVE_EDO", "unpadded": True},
                "cve_mun": {"column": "CVE_MUN", "unpadded": True},
                "cve_loc": {"column": "CVE_LOC", "unpadded": True},
                "clave_programa": {"constant": "S176"},
                "monto": {"column": "MONTO"},
                "fecha_beneficio": {"column": "FEC_PAGO"},
                "titular": {"column": "TITULAR"},
            },
        }
    )
    first, second = records(path, lay, catalog)
    assert first.line == 2 and first.issues == []
    assert first.values == {
        "reference_id": "F1",
        "curp": MARIA,
        "primer_apellido": "PÉREZ",
        "segundo_apellido": "LÓPEZ",
        "nombre": "MARÍA DE JESÚS",
        "fecha_nacimiento": date(1952, 3, 5),
        "sexo": "M",
        "entidad_nacimiento": "07",
        "cve_ent": "07",
        "cve_mun": "001",
        "cve_loc": "0001",
        "clave_programa": "S176",
        "monto": Decimal("6200.00"),
        "fecha_beneficio": date(2025, 4, 15),
        "titular": True,
    }
    assert second.line == 3 and second.issues == []
    assert second.values["segundo_apellido"] is None
    assert (second.values["cve_ent"], second.values["cve_mun"]) == ("11", "020")
    assert second.values["titular"] is False


def test_cp1252_csv_with_cvegeo_month_names_and_curp_derivation(
    tmp_path: Path, catalog: object
) -> None:
    path = tmp_path / "becas.csv"
    path.write_bytes(
        (
            "ID_BECARIO,CURP,APELLIDO_PATERNO,APELLIDO_MATERNO,NOMBRE(S),CVEGEO_LOCALIDAD,"
            "MONTO_BIMESTRAL,FECHA_DE_PAGO\r\n"
            f'B-1,{MARIA},PÉREZ,LÓPEZ,MARÍA,070010001,"1,900.00",5 de marzo de 1952\r\n'
            f"B-2,{JOSE},NÚÑEZ,GARCÍA,JOSÉ LUIS,110200001,1900,17 DE SEPTIEMBRE DE 2001\r\n"
            "B-3,XXXX,ÑANDÚ,,ANA,70010001,1900,1 de setiembre de 2020\r\n"
        ).encode("cp1252")
    )
    lay = FileLayout.model_validate(
        {
            "format": "csv",
            "encoding": "cp1252",
            "date_format": "D [de] MMMM [de] YYYY",
            "thousands_separator": ",",
            "fields": {
                "reference_id": {"column": "ID_BECARIO"},
                "curp": {"column": "CURP"},
                "primer_apellido": {"column": "APELLIDO_PATERNO"},
                "segundo_apellido": {"column": "APELLIDO_MATERNO"},
                "nombre": {"column": "NOMBRE(S)"},
                "fecha_nacimiento": {"derive": "curp"},
                "sexo": {"derive": "curp"},
                "entidad_nacimiento": {"derive": "curp"},
                "cvegeo": {"column": "CVEGEO_LOCALIDAD"},
                "monto": {"column": "MONTO_BIMESTRAL"},
                "fecha_beneficio": {"column": "FECHA_DE_PAGO"},
            },
        }
    )
    maria, jose, bad = records(path, lay, catalog)
    assert maria.values["primer_apellido"] == "PÉREZ"
    assert maria.values["fecha_nacimiento"] == date(1952, 3, 5)
    assert (maria.values["sexo"], maria.values["entidad_nacimiento"]) == ("M", "CS")
    assert (maria.values["cve_ent"], maria.values["cve_mun"], maria.values["cve_loc"]) == (
        "07",
        "001",
        "0001",
    )
    assert "cvegeo" not in maria.values
    assert maria.values["fecha_beneficio"] == date(1952, 3, 5)
    assert maria.values["monto"] == Decimal("1900.00")
    assert jose.values["fecha_nacimiento"] == date(2001, 9, 17)
    assert (jose.values["sexo"], jose.values["entidad_nacimiento"]) == ("H", "GT")
    assert jose.values["fecha_beneficio"] == date(2001, 9, 17)
    assert (jose.values["cve_ent"], jose.values["cve_mun"]) == ("11", "020")
    # a malformed CURP derives nothing (validation reports it), the unpadded 8-digit key pads
    assert bad.values["fecha_nacimiento"] is None and bad.values["sexo"] is None
    assert bad.values["cve_loc"] == "0001" and bad.values["fecha_beneficio"] == date(2020, 9, 1)
    assert bad.line == 4 and bad.issues == []


def test_xlsx_sex_codes_and_amounts_by_funding_source(tmp_path: Path, catalog: object) -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "PADRON"
    sheet.append(["Programa Mujeres con Bienestar"])
    sheet.append(["Corte: abril 2025"])
    sheet.append(
        [
            "FOLIO",
            "CURP",
            "APELLIDO PATERNO",
            "NOMBRE",
            "FECHA DE NACIMIENTO",
            "SEXO",
            "INDIGENA",
            "CVE_MUN",
            "CVE_LOC",
            "MONTO_FEDERAL",
            "MONTO_ESTATAL",
        ]
    )
    sheet.append([1001, MARIA, "Pérez", "María", date(1952, 3, 5), "Femenino", "Sí", 1, 1, 0, 2500])
    sheet.append(
        [
            1002,
            JOSE,
            "Núñez",
            "José Luis",
            "17/09/2001",
            "MASCULINO",
            "No",
            "020",
            1,
            1250.5,
            "1250.50",
        ]
    )
    sheet.append(
        [1003, JOSE, "Núñez", "José Luis", "17/09/2001", "Hombre", "tal vez", 20, 1, None, None]
    )
    path = tmp_path / "mujeres.xlsx"
    book.save(path)
    lay = FileLayout.model_validate(
        {
            "format": "xlsx",
            "sheet": "PADRON",
            "skip_rows": 2,
            "date_format": "DD/MM/YYYY",
            "fields": {
                "reference_id": {"column": "FOLIO"},
                "curp": {"column": "CURP"},
                "primer_apellido": {"column": "APELLIDO PATERNO"},
                "nombre": {"column": "NOMBRE"},
                "fecha_nacimiento": {"column": "FECHA DE NACIMIENTO"},
                "sexo": {
                    "column": "SEXO",
                    "codes": {"Femenino": "M", "Masculino": "H", "No binario": "X"},
                },
                "indigena": {"column": "INDÍGENA", "codes": {"Sí": "S", "No": "N"}},
                "cve_ent": {"constant": "15"},
                "cve_mun": {"column": "CVE_MUN"},
                "cve_loc": {"column": "CVE_LOC"},
                "monto": {"columns": ["MONTO_FEDERAL", "MONTO_ESTATAL"]},
            },
        }
    )
    first, second, third = records(path, lay, catalog)
    assert first.line == 4 and first.issues == []
    assert first.values["reference_id"] == "1001"
    assert first.values["fecha_nacimiento"] == date(1952, 3, 5)
    assert (first.values["sexo"], first.values["indigena"]) == ("M", True)
    assert first.values["monto"] == Decimal("2500")
    assert (first.values["cve_ent"], first.values["cve_mun"]) == ("15", "001")
    assert second.values["sexo"] == "H" and second.values["indigena"] is False
    assert second.values["fecha_nacimiento"] == date(2001, 9, 17)
    assert second.values["monto"] == Decimal("2501.00")
    assert third.values["monto"] is None
    assert [(i.field, i.code) for i in third.issues] == [
        ("sexo", "CODE_UNKNOWN"),
        ("indigena", "CODE_UNKNOWN"),
    ]
    assert "Femenino, Masculino, No binario" in third.issues[0].message


def test_tsv_by_position_with_month_abbreviations(tmp_path: Path, catalog: object) -> None:
    path = tmp_path / "leon.tsv"
    path.write_text(
        f"L-1\t{MARIA}\tPEREZ\tLOPEZ\tMARIA\t05-MAR-1952\t2\tS\t1\t1,800.00\t01-sep-2025\n"
        f"L-2\t{JOSE}\tNUÑEZ\t\tJOSE LUIS\t17-SEPT-2001\t1\tN\t1\t1800\t01-Dic-2025\n",
        encoding="utf-8",
    )
    lay = FileLayout.model_validate(
        {
            "format": "tsv",
            "header": False,
            "date_format": "DD-MMM-YYYY",
            "thousands_separator": ",",
            "fields": {
                "reference_id": {"position": 1},
                "curp": {"position": 2},
                "primer_apellido": {"position": 3},
                "segundo_apellido": {"position": 4},
                "nombre": {"position": 5},
                "fecha_nacimiento": {"position": 6},
                "sexo": {"position": 7, "codes": {"1": "H", "2": "M"}},
                "titular": {"position": 8},
                "entidad_nacimiento": {"derive": "curp"},
                "cve_ent": {"constant": "11"},
                "cve_mun": {"constant": "020"},
                "cve_loc": {"position": 9},
                "monto": {"position": 10},
                "fecha_beneficio": {"position": 11},
            },
        }
    )
    first, second = records(path, lay, catalog)
    assert first.line == 1 and first.issues == []
    assert first.values["fecha_nacimiento"] == date(1952, 3, 5)
    assert first.values["sexo"] == "M" and first.values["titular"] is True
    assert first.values["entidad_nacimiento"] == "CS"
    assert (first.values["cve_ent"], first.values["cve_mun"], first.values["cve_loc"]) == (
        "11",
        "020",
        "0001",
    )
    assert first.values["fecha_beneficio"] == date(2025, 9, 1)
    assert second.values["fecha_nacimiento"] == date(2001, 9, 17)
    assert second.values["fecha_beneficio"] == date(2025, 12, 1)
    assert second.values["segundo_apellido"] is None and second.values["sexo"] == "H"


def test_bad_encoding_stops_with_the_line(tmp_path: Path, catalog: object) -> None:
    path = tmp_path / "padron.csv"
    path.write_bytes("cvegeo,nombre\n070010001,ANA\n070010001,MUÑOZ\n".encode("cp1252"))
    lay = FileLayout.model_validate({"fields": {"cvegeo": {"column": "cvegeo"}}})
    with pytest.raises(InputFileError) as info:
        records(path, lay, catalog)
    assert info.value.line == 3
    assert "declare encoding: cp1252" in str(info.value)


def test_missing_columns_are_listed_with_the_columns_found(tmp_path: Path, catalog: object) -> None:
    path = tmp_path / "padron.csv"
    path.write_text("Folio,CURP,Geo\nF1,X,070010001\n", encoding="utf-8")
    lay = FileLayout.model_validate(
        {
            "fields": {
                "reference_id": {"column": "FOLIO"},  # matches "Folio": case-insensitive
                "curp": {"column": "CURP_TITULAR"},
                "nombre": {"column": "NOMBRE"},
                "cvegeo": {"column": "Geo"},
            }
        }
    )
    with pytest.raises(InputFileError) as info:
        records(path, lay, catalog)
    text = str(info.value)
    assert info.value.path == str(path)
    assert "faltan columnas declaradas en el convenio: CURP_TITULAR, NOMBRE" in text
    assert "columnas del archivo: Folio, CURP, Geo" in text


def test_field_issues_carry_line_and_field(tmp_path: Path, catalog: object) -> None:
    path = tmp_path / "padron.txt"
    path.write_text(
        "folio|fnac|sexo|monto|geo|edad\n"
        "A|1952-03-05|H|100.50|070010001|70\n"
        "B|1952-02-30|H|100|070010001|70\n"
        "C|1952-03-05|Q|100|070010001|setenta\n"
        "D|1952-03-05|M|1O0|999990001|70\n"
        "E|1952-03-05|M\n",
        encoding="utf-8",
    )
    lay = FileLayout.model_validate(
        {
            "format": "pipe",
            "fields": {
                "reference_id": {"column": "folio"},
                "fecha_nacimiento": {"column": "fnac"},
                "sexo": {"column": "sexo"},
                "monto": {"column": "monto"},
                "cvegeo": {"column": "geo"},
                "edad": {"column": "edad"},
            },
        }
    )
    found = {r.line: [(i.field, i.code) for i in r.issues] for r in records(path, lay, catalog)}
    assert found[2] == []
    assert found[3] == [("fecha_nacimiento", "DATE_FORMAT")]
    assert found[4] == [("sexo", "CODE_UNKNOWN"), ("edad", "INTEGER_INVALID")]
    assert found[5][0] == ("monto", "AMOUNT_FORMAT")
    assert found[5][1][1] == "GEO_UNKNOWN_STATE"
    assert found[6][0] == ("fila", "ROW_COLUMNS")


def test_compile_layout_rejects_columns_on_non_amounts() -> None:
    lay = FileLayout.model_validate(
        {"fields": {"nombre": {"columns": ["a", "b"]}, "cvegeo": {"column": "g"}}}
    )
    with pytest.raises(InputFileError, match="solo suma montos"):
        compile_layout(lay, ["a", "b", "g"])


def test_sample_agreement_layouts_compile_against_their_own_columns(catalog: object) -> None:
    from hub.agreements.loader import load_agreement

    directory = Path(__file__).parents[3] / "agreements"
    for path in sorted(directory.glob("*.yaml")):
        layout = load_agreement(path).layout
        columns: list[str] = []
        for source in layout.fields.values():
            columns += [source.column] if source.column else []
            columns += [c for c in source.columns or () if isinstance(c, str)]
        header = columns if layout.header else None
        mapper = compile_layout(layout, header, catalog=catalog)  # type: ignore[arg-type]
        assert mapper.fields
