"""The batch tail encoder gives each record's bytes exactly as the one-record encoder does."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

import pytest

from hub.contracts import load_catalog
from hub.contracts.wire import RecordEncodeError
from producers.mapping import read_records
from producers.pipeline import codec_spec
from producers.reading import CodecSpec
from tests.producers.conftest import PADRONES, agreement
from tests.producers.test_tail_writer import EDGES, FULL


def _spec(agreement_id: str, version: int, *, scoped: bool = True) -> CodecSpec:
    schema = load_catalog().subject("mx.gob.sisi.padron.ChangeSet").version(version)
    spec = codec_spec(agreement(agreement_id), 7, schema.definition)
    if not scoped:
        return CodecSpec(7, schema.definition, None, spec.periodicity)  # type: ignore[arg-type]
    return spec


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("agreement_id", PADRONES)
def test_same_bytes_on_synthetic_rows(synth, agreement_id: str, version: int) -> None:
    path = synth(agreement_id, people=120, error_rate=0.2)
    records = [r.values for r in read_records(path, agreement(agreement_id).layout)]
    for scoped in (True, False):
        spec = _spec(agreement_id, version, scoped=scoped)
        one, many = spec.tail_encoder(), spec.tail_batch_encoder()
        expected = []
        for values in records:
            try:
                expected.append(one(values))
            except RecordEncodeError:
                expected.append(None)
        good = [v for v, e in zip(records, expected, strict=True) if e is not None]
        # twice: the second pass answers from the memo
        for _ in range(2):
            assert many(good) == [e for e in expected if e is not None]


@pytest.mark.parametrize("version", [1, 2])
def test_same_bytes_on_edge_cases_mixed_in_one_batch(version: int) -> None:
    shuffled = [dict(v) for v in EDGES * 3]
    random.Random(3).shuffle(shuffled)
    for agreement_id in PADRONES:
        for scoped in (True, False):
            spec = _spec(agreement_id, version, scoped=scoped)
            one, many = spec.tail_encoder(), spec.tail_batch_encoder()
            assert many(shuffled) == [one(v) for v in shuffled]
            assert many([]) == []
            for values in EDGES:
                assert many([values]) == [one(values)]


def test_equal_values_of_other_types_give_the_same_bytes_as_one_by_one() -> None:
    spec = _spec("CONV-LEON-JEFAS-2026", 2, scoped=False)
    one, many = spec.tail_encoder(), spec.tail_batch_encoder()
    records = [
        {**FULL, "monto": Decimal("6200.00")},
        {**FULL, "monto": Decimal("6200")},
        {**FULL, "monto": 6200},
        {**FULL, "titular": 1},
        {**FULL, "titular": True},
        {**FULL, "fecha_nacimiento": 12_000},
        {**FULL, "fecha_nacimiento": date(2002, 11, 8)},
    ]
    assert many(records) == [one(v) for v in records]


@pytest.mark.parametrize(
    "bad",
    [
        {**FULL, "sexo": "Q"},
        {**FULL, "monto": Decimal("1.001")},
        {**FULL, "curp": 12},
        {**FULL, "fecha_beneficio": "ayer"},
        {**FULL, "nombre": ["LISTA"]},
    ],
)
def test_a_bad_record_fails_the_batch_with_the_same_error(bad: dict[str, object]) -> None:
    spec = _spec("CONV-LEON-JEFAS-2026", 2, scoped=False)
    one, many = spec.tail_encoder(), spec.tail_batch_encoder()
    with pytest.raises(RecordEncodeError) as alone:
        one(bad)
    with pytest.raises(RecordEncodeError) as batched:
        many([FULL, FULL, bad, FULL])
    assert batched.value.message == alone.value.message
