"""Dates and amounts of an item."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from hub.validation import (
    AmountFormatError,
    coerce_date,
    parse_amount,
    parse_iso_date,
    validate_amount,
    validate_date,
)

from .conftest import TODAY


def codes(issues) -> list[str]:
    return [i.code for i in issues]


def test_parse_iso_date() -> None:
    assert parse_iso_date("1985-03-07") == date(1985, 3, 7)
    assert parse_iso_date(" 1985-03-07T10:00:00 ") == date(1985, 3, 7)
    for bad in ("07/03/1985", "1985-3-7", "1985-02-30", ""):
        with pytest.raises(ValueError):
            parse_iso_date(bad)


def test_coerce_date() -> None:
    assert coerce_date("fecha_nacimiento", datetime(1985, 3, 7, 12)) == (date(1985, 3, 7), [])
    assert coerce_date("fecha_nacimiento", "1985-03-07") == (date(1985, 3, 7), [])
    day, issues = coerce_date("fecha_nacimiento", "07/03/1985")
    assert day is None and codes(issues) == ["DATE_FORMAT"]
    day, issues = coerce_date("fecha_nacimiento", 19850307)
    assert day is None and codes(issues) == ["DATE_FORMAT"]


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("fecha_nacimiento", date(1985, 3, 7), []),
        ("fecha_nacimiento", TODAY, []),
        ("fecha_nacimiento", date(2025, 11, 2), ["DATE_FUTURE"]),
        ("fecha_nacimiento", date(1899, 12, 31), ["DATE_TOO_OLD"]),
        ("fecha_nacimiento", date(1904, 1, 1), ["DATE_TOO_OLD"]),  # 121 years old
        ("fecha_nacimiento", date(1906, 1, 1), []),
        ("fecha_beneficio", date(2025, 11, 2), ["DATE_FUTURE"]),
        ("fecha_beneficio", date(1989, 12, 31), ["DATE_TOO_OLD"]),
        ("effective_date", date(2026, 6, 1), []),  # changes may be registered ahead
        ("effective_date", date(2027, 6, 1), ["DATE_FUTURE"]),
    ],
)
def test_validate_date(field: str, value: date, expected: list[str]) -> None:
    issues = validate_date(field, value, today=TODAY)
    assert codes(issues) == expected
    assert all(i.field == field for i in issues)


@pytest.mark.parametrize(
    ("text", "decimal_sep", "thousands_sep", "value"),
    [
        ("1234.50", ".", "", Decimal("1234.50")),
        ("  800 ", ".", "", Decimal("800")),
        ("$1,234.50", ".", ",", Decimal("1234.50")),
        ("$ 1,234,567", ".", ",", Decimal("1234567")),
        ("1.234,5", ",", ".", Decimal("1234.5")),
        ("1234,5", ",", "", Decimal("1234.5")),
        ("-3.00", ".", "", Decimal("-3.00")),
        (".5", ".", "", Decimal("0.5")),
    ],
)
def test_parse_amount(text: str, decimal_sep: str, thousands_sep: str, value: Decimal) -> None:
    parsed = parse_amount(text, decimal_separator=decimal_sep, thousands_separator=thousands_sep)
    assert parsed == value


@pytest.mark.parametrize(
    ("text", "thousands_sep"),
    [("12,34.5", ","), ("1,2345", ","), ("abc", ""), ("", ""), ("1.2.3", ""), ("1e5", ""),
     ("1,234.50", ""), ("NaN", ""), ("$", "")],
)  # fmt: skip
def test_parse_amount_rejects(text: str, thousands_sep: str) -> None:
    with pytest.raises(AmountFormatError) as caught:
        parse_amount(text, thousands_separator=thousands_sep)
    assert caught.value.issue.code == "AMOUNT_FORMAT"
    assert caught.value.issue.field == "monto"


def test_parse_amount_rejects_same_separators() -> None:
    with pytest.raises(ValueError):
        parse_amount("1,5", decimal_separator=",", thousands_separator=",")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("0"), []),
        (Decimal("1234.50"), []),
        (Decimal("1234.500"), []),  # same value, two decimals
        (Decimal("9999999.99"), []),
        (Decimal("-0.01"), ["AMOUNT_NEGATIVE"]),
        (Decimal("10.005"), ["AMOUNT_PRECISION"]),
        (Decimal("10000000.01"), ["AMOUNT_TOO_LARGE"]),
        (Decimal("1e30"), ["AMOUNT_TOO_LARGE"]),
        (Decimal("NaN"), ["AMOUNT_FORMAT"]),
        (Decimal("Infinity"), ["AMOUNT_FORMAT"]),
    ],
)
def test_validate_amount(value: Decimal, expected: list[str]) -> None:
    assert codes(validate_amount("monto", value)) == expected
