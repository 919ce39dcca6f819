"""The flat tail writer gives exactly the bytes of the sub-record path, on every layout and edge."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from hub.contracts import load_catalog
from hub.contracts.wire import RecordEncodeError
from producers.changeset import ChangeSetCodec
from producers.mapping import read_records
from producers.pipeline import codec_spec
from tests.producers.conftest import PADRONES, agreement


def _codec(agreement_id: str, version: int, *, scoped: bool = True) -> ChangeSetCodec:
    schema = load_catalog().subject("mx.gob.sisi.padron.ChangeSet").version(version)
    spec = codec_spec(agreement(agreement_id), 7, schema.definition)
    if not scoped:
        return ChangeSetCodec(7, schema.definition, periodicity=spec.periodicity)
    return spec.build()


def _slow(codec: ChangeSetCodec, values: dict[str, object]) -> bytes:
    return codec.encode_tail_records(*codec.sub_records(values))


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("agreement_id", PADRONES)
def test_same_bytes_on_synthetic_rows(synth, agreement_id: str, version: int) -> None:
    path = synth(agreement_id, people=40, error_rate=0.0)
    for scoped in (True, False):
        codec = _codec(agreement_id, version, scoped=scoped)
        for record in read_records(path, agreement(agreement_id).layout):
            assert codec.encode_tail(record.values) == _slow(codec, record.values)


FULL: dict[str, object] = {
    "curp": "GOGN070526MMCMLTF0", "primer_apellido": "GÓMEZ", "segundo_apellido": "NÚÑEZ",
    "nombre": "NATALIA", "fecha_nacimiento": date(2007, 5, 26), "entidad_nacimiento": "MC",
    "sexo": "M", "discapacidad": True, "indigena": False, "clave_programa": "LEON-JEFAS",
    "tipo_beneficio": "MONETARIO", "monto": Decimal("2500.5"), "fecha_beneficio": date(2026, 1, 3),
    "titular": False, "cve_ent": "11", "cve_mun": "020", "cve_loc": "0001",
    "domicilio": "CALLE " + "X" * 80, "ageb": "0123",
}  # fmt: skip

EDGES: list[dict[str, object]] = [
    FULL,
    {},
    {"nombre": None, "primer_apellido": None, "clave_programa": "P"},
    {**FULL, "tipo_beneficio": "", "monto": None, "titular": None},
    {**FULL, "monto": 3, "fecha_nacimiento": 12_000},
    {**FULL, "monto": Decimal("6200.00")},
    {**FULL, "monto": Decimal("6200")},
    {**FULL, "monto": Decimal("-1234567.89")},
    {**FULL, "cve_mun": None},
    {**FULL, "cve_ent": None, "clave_programa": None},
]


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("values", EDGES)
def test_same_bytes_on_edge_cases(values: dict[str, object], version: int) -> None:
    for agreement_id in PADRONES:
        for scoped in (True, False):
            codec = _codec(agreement_id, version, scoped=scoped)
            assert codec.encode_tail(values) == _slow(codec, values)


@pytest.mark.parametrize(
    "bad",
    [
        {**FULL, "sexo": "Q"},
        {**FULL, "monto": Decimal("1.001")},
        {**FULL, "curp": 12},
        {**FULL, "fecha_beneficio": "ayer"},
    ],
)
def test_bad_values_fail_both_ways(bad: dict[str, object]) -> None:
    codec = _codec("CONV-LEON-JEFAS-2026", 2, scoped=False)
    with pytest.raises(RecordEncodeError):
        codec.encode_tail(bad)
    with pytest.raises(RecordEncodeError):
        _slow(codec, bad)
