"""Validation of a whole canonical padrón item."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from hub.validation import (
    DEFAULT_REQUIRED,
    GeoCatalog,
    build_curp,
    curp_stem,
    has_errors,
    validate_item,
)

from .conftest import TODAY

ITEM: dict[str, object] = {
    "reference_id": "A-0001",
    "operation": "ALTA",
    "effective_date": date(2025, 1, 1),
    "curp": build_curp(curp_stem("Núñez", "Ibarra", "Rosa", date(1970, 5, 5), "M", "OC"), "3"),
    "primer_apellido": "Núñez",
    "segundo_apellido": "Ibarra",
    "nombre": "Rosa",
    "fecha_nacimiento": date(1970, 5, 5),
    "entidad_nacimiento": "OC",
    "sexo": "M",
    "discapacidad": False,
    "indigena": True,
    "clave_programa": "S176",
    "tipo_beneficio": "MONETARIO",
    "monto": Decimal("3100.00"),
    "fecha_beneficio": date(2025, 3, 1),
    "titular": True,
    "cve_ent": "20",
    "cve_mun": "067",
    "cve_loc": "0001",
    "domicilio": "Calle Hidalgo 5",
}


def check(catalog: GeoCatalog, **changes: object) -> list[tuple[str, str]]:
    item = {**ITEM, **changes}
    return [(i.field, i.code) for i in validate_item(item, catalog=catalog, today=TODAY)]


def test_valid_item(catalog: GeoCatalog) -> None:
    assert check(catalog) == []


def test_minimal_item_without_curp(catalog: GeoCatalog) -> None:
    item = {f: ITEM[f] for f in DEFAULT_REQUIRED}
    assert validate_item(item, catalog=catalog, today=TODAY) == []


@pytest.mark.parametrize("field", sorted(DEFAULT_REQUIRED - {"cve_ent", "cve_mun"}))
@pytest.mark.parametrize("empty", [None, "", "   "])
def test_required(catalog: GeoCatalog, field: str, empty: object) -> None:
    assert (field, "REQUIRED") in check(catalog, **{field: empty})


def test_required_geography(catalog: GeoCatalog) -> None:
    none = {"cve_ent": None, "cve_mun": None, "cve_loc": None}
    assert check(catalog, **none) == [("cve_ent", "REQUIRED"), ("cve_mun", "REQUIRED")]
    assert check(catalog, **none, cvegeo="200670001") == []
    assert check(catalog, cve_ent=None, cve_mun="20067") == []
    assert check(catalog, cve_mun=None, cve_loc=None) == [("cve_mun", "REQUIRED")]
    item = {**ITEM, "cve_loc": None}
    required = DEFAULT_REQUIRED | {"cve_loc"}
    issues = validate_item(item, catalog=catalog, required=required, today=TODAY)
    assert [(i.field, i.code) for i in issues] == [("cve_loc", "REQUIRED")]


def test_required_is_configurable(catalog: GeoCatalog) -> None:
    item = {"reference_id": "A-1", "operation": "ALTA", "nombre": "Rosa"}
    assert validate_item(item, catalog=catalog, required={"reference_id"}, today=TODAY) == []


def test_baja_and_pago(catalog: GeoCatalog) -> None:
    baja = {"reference_id": "A-1", "operation": "BAJA", "clave_programa": "S176"}
    assert validate_item(baja, catalog=catalog, today=TODAY) == []
    assert check(catalog, operation="PAGO", monto=None) == [("monto", "REQUIRED")]
    assert check(catalog, operation="PAGO") == []
    assert check(catalog, operation="REGISTRO") == [("operation", "OPERATION_INVALID")]


def test_curp_checked_and_compared(catalog: GeoCatalog) -> None:
    curp = str(ITEM["curp"])
    assert check(catalog, curp=curp[:17] + str((int(curp[17]) + 1) % 10)) == [
        ("curp", "CURP_CHECK_DIGIT")
    ]
    assert check(catalog, sexo="H") == [("sexo", "CURP_SEX_MISMATCH")]
    assert check(catalog, entidad_nacimiento="20") == []  # INEGI key of Oaxaca = OC
    assert check(catalog, entidad_nacimiento="21") == [
        ("entidad_nacimiento", "CURP_STATE_MISMATCH")
    ]
    assert check(catalog, fecha_nacimiento=date(1970, 5, 6)) == [
        ("fecha_nacimiento", "CURP_DATE_MISMATCH")
    ]
    # Same letters in the CURP (R, S): a name the CURP cannot tell apart.
    assert check(catalog, nombre="Rosalía") == []
    assert check(catalog, nombre="Ana") == [("nombre", "CURP_NAME_MISMATCH")]
    assert check(catalog, curp=None) == []
    assert check(catalog, curp=12345) == [("curp", "CURP_STRUCTURE")]


def test_field_values(catalog: GeoCatalog) -> None:
    assert check(catalog, sexo="F") == [("sexo", "SEX_INVALID")]
    assert check(catalog, entidad_nacimiento="Oaxaca") == [
        ("entidad_nacimiento", "BIRTH_STATE_INVALID")
    ]
    assert check(catalog, nombre="R0sa") == [("nombre", "NAME_INVALID")]
    assert check(catalog, segundo_apellido=None) == []
    assert check(catalog, fecha_nacimiento="1970-05-05") == []
    assert check(catalog, fecha_nacimiento="05/05/1970") == [("fecha_nacimiento", "DATE_FORMAT")]
    assert check(catalog, fecha_beneficio=date(2026, 1, 1)) == [("fecha_beneficio", "DATE_FUTURE")]
    assert check(catalog, monto="3,100.00") == [("monto", "AMOUNT_FORMAT")]
    assert check(catalog, monto="3100.00") == []
    assert check(catalog, monto=3100) == []
    assert check(catalog, monto=Decimal("-1")) == [("monto", "AMOUNT_NEGATIVE")]
    assert check(catalog, monto=3100.0) == [("monto", "AMOUNT_FORMAT")]
    assert check(catalog, titular="S") == [("titular", "BOOLEAN_INVALID")]


def test_benefit_before_birth(catalog: GeoCatalog) -> None:
    item = {**ITEM, "curp": None, "fecha_nacimiento": date(2025, 6, 1)}
    issues = validate_item(item, catalog=catalog, today=TODAY)
    assert [(i.field, i.code) for i in issues] == [("fecha_beneficio", "DATE_BEFORE_BIRTH")]


def test_geography_issues(catalog: GeoCatalog) -> None:
    assert check(catalog, cve_mun="999") == [("cve_mun", "GEO_UNKNOWN_MUNICIPALITY")]
    assert check(catalog, cve_ent="20", cve_mun="67", cve_loc="1") == []
    issues = validate_item({**ITEM, "cve_loc": "9876"}, catalog=catalog, today=TODAY)
    assert [(i.field, i.code) for i in issues] == [("cve_loc", "GEO_LOCALITY_NOT_IN_CATALOG")]
    assert not has_errors(issues)


def test_several_problems_are_all_reported(catalog: GeoCatalog) -> None:
    found = check(catalog, sexo="F", monto=Decimal("-5"), cve_ent="40", nombre="")
    assert set(found) == {
        ("nombre", "REQUIRED"),
        ("sexo", "SEX_INVALID"),
        ("monto", "AMOUNT_NEGATIVE"),
        ("cve_ent", "GEO_UNKNOWN_STATE"),
    }
