"""Success/error tables per schema: valid records serialize and read back; invalid ones fail."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from hub.contracts import Catalog, RecordEncodeError, decode, encode
from tests.hub.contracts import examples


@pytest.mark.parametrize("subject", sorted(examples.VALID))
def test_valid_example_round_trips(catalog: Catalog, subject: str) -> None:
    schema = catalog.subject(subject).latest.parsed
    record = examples.VALID[subject]()
    frame = encode(7, schema, record)
    assert decode(frame, {7: schema}) == _normalized(subject, record)


def _normalized(subject: str, record: dict[str, Any]) -> dict[str, Any]:
    """What reading back gives: fields added in later versions come back with their default."""
    expected = copy.deepcopy(record)
    if subject == "mx.gob.sisi.padron.ChangeSet":
        for item in expected["items"]:
            if item["benefit"] is not None:
                item["benefit"].setdefault("periodicidad", None)
            if item["geography"] is not None:
                item["geography"].setdefault("ageb", None)
    return expected


def test_every_subject_has_an_example(catalog: Catalog) -> None:
    assert set(catalog.names) == set(examples.VALID)


def _without(record: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != key}


VALID_VARIANTS: list[tuple[str, str, Any]] = [
    (
        "baja sin beneficio ni geografía",
        "mx.gob.sisi.padron.ChangeSet",
        lambda: examples.change_set(
            [examples.item(operation="BAJA", benefit=None, geography=None)]
        ),
    ),
    (
        "duplicado sin CURP, sexo ni fecha",
        "mx.gob.sisi.padron.ChangeSet",
        lambda: examples.change_set(
            [examples.item(person=examples.person(curp=None, sexo=None, fecha_nacimiento=None))]
        ),
    ),
    (
        "sexo X",
        "mx.gob.sisi.padron.ChangeSet",
        lambda: examples.change_set([examples.item(person=examples.person(sexo="X"))]),
    ),
    (
        "celda suprimida sin cifras",
        "mx.gob.sisi.publico.CoverageCell",
        lambda: examples.coverage_cell(
            beneficiaries=None, amount=None, suppression="PRIMARY", breakdown=None
        ),
    ),
    (
        "acuse de rechazo del conjunto",
        "mx.gob.sisi.hub.Receipt",
        lambda: examples.receipt(
            status="REJECTED",
            accepted_count=0,
            rejected_count=500,
            reason_code="FIRMA_INVALIDA",
            rejected=[],
        ),
    ),
]


@pytest.mark.parametrize(
    ("subject", "factory"),
    [(s, f) for _, s, f in VALID_VARIANTS],
    ids=[name for name, _, _ in VALID_VARIANTS],
)
def test_valid_variants_serialize(catalog: Catalog, subject: str, factory: Any) -> None:
    schema = catalog.subject(subject).latest.parsed
    record = factory()
    assert decode(encode(1, schema, record), {1: schema}) == _normalized(subject, record)


INVALID: list[tuple[str, str, Any]] = [
    (
        "operación desconocida",
        "mx.gob.sisi.padron.ChangeSet",
        lambda: examples.change_set([examples.item(operation="MODIFICA")]),
    ),
    (
        "sexo fuera del catálogo",
        "mx.gob.sisi.padron.ChangeSet",
        lambda: examples.change_set([examples.item(person=examples.person(sexo="F"))]),
    ),
    (
        "falta el nombre",
        "mx.gob.sisi.padron.ChangeSet",
        lambda: examples.change_set([examples.item(person=_without(examples.person(), "nombre"))]),
    ),
    (
        "monto como float",
        "mx.gob.sisi.padron.ChangeSet",
        lambda: examples.change_set(
            [
                examples.item(
                    benefit={
                        "clave_programa": "S176",
                        "tipo_beneficio": "MONETARIO",
                        "monto": 6200.0,
                        "fecha_beneficio": None,
                        "titular": None,
                    }
                )
            ]
        ),
    ),
    (
        "monto con más de 14 dígitos",
        "mx.gob.sisi.padron.ChangeSet",
        lambda: examples.change_set(
            [
                examples.item(
                    benefit={
                        "clave_programa": "S176",
                        "tipo_beneficio": "MONETARIO",
                        "monto": Decimal("1234567890123.45"),
                        "fecha_beneficio": None,
                        "titular": None,
                    }
                )
            ]
        ),
    ),
    (
        "campo que no está en el contrato",
        "mx.gob.sisi.padron.ChangeSet",
        lambda: examples.change_set([examples.item(firma="abc")]),
    ),
    (
        "fecha de levantamiento no ISO",
        "mx.gob.sisi.encuesta.SurveySet",
        lambda: {
            **examples.header(),
            "households": [examples.household(fecha_levantamiento="20/02/2025")],
        },
    ),
    (
        "piso fuera del catálogo",
        "mx.gob.sisi.encuesta.SurveySet",
        lambda: {**examples.header(), "households": [examples.household(material_piso="MADERA")]},
    ),
    (
        "estado de acuse desconocido",
        "mx.gob.sisi.hub.Receipt",
        lambda: examples.receipt(status="OK"),
    ),
    (
        "supresión desconocida",
        "mx.gob.sisi.publico.CoverageCell",
        lambda: examples.coverage_cell(suppression="SI"),
    ),
    (
        "beneficiarios como texto",
        "mx.gob.sisi.publico.CoverageCell",
        lambda: examples.coverage_cell(beneficiaries="1520"),
    ),
    (
        "detalles de auditoría no textuales",
        "mx.gob.sisi.hub.AuditRecord",
        lambda: {**examples.audit_record(), "details": {"items": 1}},
    ),
]


@pytest.mark.parametrize(
    ("subject", "factory"),
    [(s, f) for _, s, f in INVALID],
    ids=[name for name, _, _ in INVALID],
)
def test_invalid_records_are_refused(catalog: Catalog, subject: str, factory: Any) -> None:
    schema = catalog.subject(subject).latest.parsed
    with pytest.raises(RecordEncodeError) as caught:
        encode(1, schema, factory())
    assert "no cumple el esquema" in caught.value.message
