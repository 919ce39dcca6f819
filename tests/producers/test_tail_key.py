"""The change hash leaves out the payment date, and is the same from values and from tail bytes."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

import pytest

from producers.mapping import read_records
from producers.tail_key import PAYMENT_ONLY_FIELDS, compile_tail_key
from producers.tail_writer import content_hash, item_field_types
from tests.producers.conftest import PADRONES, agreement
from tests.producers.test_tail_batch import _spec
from tests.producers.test_tail_writer import EDGES, FULL


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("agreement_id", PADRONES)
def test_the_key_from_bytes_equals_the_key_written_with_the_tail(
    synth, agreement_id: str, version: int
) -> None:
    path = synth(agreement_id, people=80)
    records = [r.values for r in read_records(path, agreement(agreement_id).layout)]
    for scoped in (True, False):
        spec = _spec(agreement_id, version, scoped=scoped)
        tails, hashes = spec.keyed_batch_encoder()(records)
        assert tails == spec.tail_batch_encoder()(records)  # the tail itself is unchanged
        from_bytes = spec.change_hash()
        assert [from_bytes(tail) for tail in tails] == hashes


@pytest.mark.parametrize("version", [1, 2])
def test_edge_cases_in_one_batch_and_one_by_one(version: int) -> None:
    shuffled = [dict(v) for v in EDGES * 2]
    random.Random(5).shuffle(shuffled)
    for agreement_id in PADRONES:
        for scoped in (True, False):
            spec = _spec(agreement_id, version, scoped=scoped)
            keyed, from_bytes = spec.keyed_batch_encoder(), spec.change_hash()
            tails, hashes = keyed(shuffled)
            assert [from_bytes(t) for t in tails] == hashes
            for values in EDGES:  # one record: the one-record path when the batch fails
                (tail,), (alone,) = keyed([values])
                assert from_bytes(tail) == alone


@pytest.mark.parametrize("version", [1, 2])
def test_only_the_payment_date_is_left_out(version: int) -> None:
    assert {"fecha_beneficio"} == PAYMENT_ONLY_FIELDS
    spec = _spec("CONV-LEON-JEFAS-2026", version, scoped=False)
    keyed = spec.keyed_batch_encoder()
    moved = {**FULL, "fecha_beneficio": date(2026, 3, 9)}
    undated = {**FULL, "fecha_beneficio": None}
    (tail, moved_tail, undated_tail), (base, *same) = keyed([FULL, moved, undated])
    assert len({tail, moved_tail, undated_tail}) == 3  # the PAGO still carries its date
    assert same == [base, base]
    enrollment_changes = [
        {**FULL, "monto": Decimal("2600.00")},
        {**FULL, "titular": True},
        {**FULL, "tipo_beneficio": "EN ESPECIE"},
        {**FULL, "nombre": "NATALIA ISABEL"},
        {**FULL, "cve_loc": "0002"},
        {**FULL, "domicilio": "OTRA CALLE"},
    ]
    _, hashes = keyed(enrollment_changes)
    assert base not in hashes and len(set(hashes)) == len(hashes)


def test_bytes_of_another_schema_give_no_key() -> None:
    spec = _spec("CONV-LEON-JEFAS-2026", 2, scoped=False)
    key = compile_tail_key(item_field_types(spec.definition))
    (tail,) = spec.tail_batch_encoder()([FULL])
    assert key(tail) is not None
    assert key(tail + b"\x00") is None  # bytes left over
    assert key(tail[:-3]) is None  # cut short
    assert key(b"\x7f" * 4) is None  # a union branch the schema does not have
    assert content_hash(key(tail) or b"") == spec.change_hash()(tail)
