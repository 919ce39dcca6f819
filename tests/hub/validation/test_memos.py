"""The validation's memos (amounts, birth states, names, geography) never change an answer."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hub.validation import GeoCatalog, birth_state_renapo, validate_item

from .conftest import TODAY
from .test_record import ITEM


def _codes(values: dict[str, object], catalog: GeoCatalog) -> list[tuple[str, str]]:
    return [(i.field, i.code) for i in validate_item(values, catalog=catalog, today=TODAY)]


@pytest.mark.parametrize(
    ("monto", "expected"),
    [
        (Decimal("3100.00"), []),
        (Decimal("3100.000"), []),  # equal to a memoized valid amount, and valid itself
        (Decimal("3100.001"), [("monto", "AMOUNT_PRECISION")]),
        (Decimal("-3100.00"), [("monto", "AMOUNT_NEGATIVE")]),
        (Decimal("NaN"), [("monto", "AMOUNT_FORMAT")]),
        (Decimal("sNaN"), [("monto", "AMOUNT_FORMAT")]),
        (Decimal("Infinity"), [("monto", "AMOUNT_FORMAT")]),
        (Decimal("20000000"), [("monto", "AMOUNT_TOO_LARGE")]),
    ],
)
def test_amounts_answer_the_same_every_time(catalog, monto, expected) -> None:
    for _ in range(3):
        assert _codes({**ITEM, "monto": monto}, catalog) == expected


def test_names_geography_and_birth_states_answer_the_same_every_time(catalog) -> None:
    bad = {**ITEM, "nombre": "R0SA", "cve_mun": "999", "entidad_nacimiento": "ZZ"}
    first = _codes(bad, catalog)
    assert ("nombre", "NAME_INVALID") in first
    assert ("cve_mun", "GEO_UNKNOWN_MUNICIPALITY") in first
    assert ("entidad_nacimiento", "BIRTH_STATE_INVALID") in first
    assert all(_codes(bad, catalog) == first for _ in range(3))
    assert all(_codes(ITEM, catalog) == [] for _ in range(3))
    assert [birth_state_renapo(x) for x in ("20", "20", " oc", "7", "ZZ", "ZZ")] == [
        "OC", "OC", "OC", "CS", None, None,
    ]  # fmt: skip
    with pytest.raises(AttributeError):
        birth_state_renapo(["OC"])  # type: ignore[arg-type]
