"""A CURP against its record: exactly the part that disagrees is reported."""

from __future__ import annotations

from datetime import date

import pytest

from hub.validation import build_curp, check_consistency, curp_stem

PERSON = {
    "primer_apellido": "Hernández",
    "segundo_apellido": "Peña",
    "nombre": "María Guadalupe",
    "fecha_nacimiento": date(1978, 11, 3),
    "sexo": "M",
    "entidad_nacimiento": "HG",
}
CURP = build_curp(
    curp_stem("Hernández", "Peña", "María Guadalupe", date(1978, 11, 3), "M", "HG"), "4"
)


def issues_of(**changes: object) -> list[tuple[str, str]]:
    record = {**PERSON, **changes}
    return [(i.field, i.code) for i in check_consistency(CURP, **record)]


def test_stem_of_the_person() -> None:
    assert CURP[:16] == "HEPG781103MHGRXD"


def test_consistent_record() -> None:
    assert issues_of() == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"primer_apellido": "Fernández"}, [("primer_apellido", "CURP_NAME_MISMATCH")]),
        ({"segundo_apellido": "Gómez"}, [("segundo_apellido", "CURP_NAME_MISMATCH")]),
        ({"segundo_apellido": ""}, [("segundo_apellido", "CURP_NAME_MISMATCH")]),
        ({"nombre": "Lupita"}, [("nombre", "CURP_NAME_MISMATCH")]),
        ({"nombre": "Ana"}, [("nombre", "CURP_NAME_MISMATCH")]),
        ({"fecha_nacimiento": date(1978, 11, 4)}, [("fecha_nacimiento", "CURP_DATE_MISMATCH")]),
        ({"fecha_nacimiento": date(2078, 11, 3)}, [("fecha_nacimiento", "CURP_DATE_MISMATCH")]),
        ({"sexo": "H"}, [("sexo", "CURP_SEX_MISMATCH")]),
        ({"sexo": "X"}, [("sexo", "CURP_SEX_MISMATCH")]),
        ({"entidad_nacimiento": "DF"}, [("entidad_nacimiento", "CURP_STATE_MISMATCH")]),
        ({"entidad_nacimiento": "09"}, [("entidad_nacimiento", "CURP_STATE_MISMATCH")]),
        (
            {"sexo": "H", "nombre": "Juan"},
            [("nombre", "CURP_NAME_MISMATCH"), ("sexo", "CURP_SEX_MISMATCH")],
        ),
    ],
)
def test_reports_exactly_the_disagreeing_part(changes, expected) -> None:
    assert issues_of(**changes) == expected


@pytest.mark.parametrize(
    "changes",
    [
        {"primer_apellido": None},
        {"segundo_apellido": None},
        {"nombre": None},
        {"primer_apellido": None, "segundo_apellido": None, "nombre": None},
        {"fecha_nacimiento": None},
        {"sexo": None},
        {"entidad_nacimiento": None},
        {"entidad_nacimiento": "13"},  # INEGI key of Hidalgo
        {"entidad_nacimiento": "hg"},
        {"nombre": "MA. GPE."},  # abbreviations are read as the full names
        {"nombre": "MARIA GUADALUPE", "primer_apellido": "HERNANDEZ"},  # no accents
        {"segundo_apellido": "PENA"},  # Ñ lost to an encoding: N for the CURP's X
    ],
)
def test_unknown_or_equivalent_values_agree(changes) -> None:
    assert issues_of(**changes) == []


def test_message_says_which_positions() -> None:
    (issue,) = check_consistency(CURP, **{**PERSON, "primer_apellido": "Fuentes"})
    assert "posiciones 1, 2, 14" in issue.message
    assert "'HER'" in issue.message
    assert "'FUN'" in issue.message
    (issue,) = check_consistency(CURP, **{**PERSON, "primer_apellido": "Fernández"})
    assert "posición 1 de la CURP ('H', se esperaba 'F')" in issue.message


def test_inconvenient_word_with_unknown_name() -> None:
    curp = build_curp(curp_stem("Baños", "Cortés", "Ana", date(1980, 2, 29), "M", "GT"), "0")
    assert curp.startswith("BXCA")
    known = {"fecha_nacimiento": None, "sexo": None, "entidad_nacimiento": None}
    assert check_consistency(
        curp, primer_apellido="Baños", segundo_apellido=None, nombre=None, **known
    ) == []
    assert check_consistency(
        curp, primer_apellido=None, segundo_apellido="Cortés", nombre="Ana", **known
    ) == []
    (issue,) = check_consistency(
        curp, primer_apellido="Barrios", segundo_apellido=None, nombre="Ana", **known
    )
    assert (issue.field, issue.code) == ("primer_apellido", "CURP_NAME_MISMATCH")


def test_undecodable_curp_gives_nothing_here() -> None:
    assert check_consistency("XXXX", **PERSON) == []
