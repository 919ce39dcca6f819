"""Amounts of money (MXN): parsing agency text with its separators, and plausibility."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Final

from hub.validation.issues import ValidationIssue, make_issue

__all__ = ["AMOUNT_CEILING", "AmountFormatError", "parse_amount", "validate_amount"]

#: No single benefit to one person is anywhere near this (MXN); above it, it is a capture error.
AMOUNT_CEILING: Final = Decimal("10000000")
_CENT: Final = Decimal("0.01")
_PLAIN_RE: Final = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


class AmountFormatError(ValueError):
    """An amount could not be read; ``issue`` is the AMOUNT_FORMAT issue to report."""

    def __init__(self, issue: ValidationIssue) -> None:
        self.issue = issue
        super().__init__(issue.message)


def parse_amount(
    text: str,
    *,
    decimal_separator: str = ".",
    thousands_separator: str = "",
    field: str = "monto",
) -> Decimal:
    """A Decimal from an agency's amount text (``1,234.50``, ``1.234,50``, ``$ 800``).

    A leading ``$`` and surrounding spaces are ignored. When a thousands separator is declared,
    groups after the first must have exactly three digits. Raises ``AmountFormatError``.
    """
    if decimal_separator == thousands_separator or len(decimal_separator) != 1:
        raise ValueError("los separadores decimal y de miles deben ser distintos")
    value = text.strip()
    sign = ""
    if value[:1] in "+-" and value:
        sign, value = value[0], value[1:].lstrip()
    if value.startswith("$"):
        value = value[1:].lstrip()
    integer, _, fraction = value.partition(decimal_separator)
    if thousands_separator and thousands_separator in integer:
        groups = integer.split(thousands_separator)
        if not (1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])):
            raise AmountFormatError(
                make_issue(field, "AMOUNT_FORMAT", f"'{text}': separador de miles mal colocado")
            )
        integer = "".join(groups)
    plain = (
        f"{sign}{integer}.{fraction}"
        if fraction or value.endswith(decimal_separator)
        else (f"{sign}{integer}")
    )
    if _PLAIN_RE.fullmatch(plain) is None:
        raise AmountFormatError(make_issue(field, "AMOUNT_FORMAT", f"'{text}'"))
    try:
        return Decimal(plain)
    except InvalidOperation as exc:  # pragma: no cover - the pattern already excludes it
        raise AmountFormatError(make_issue(field, "AMOUNT_FORMAT", f"'{text}'")) from exc


def validate_amount(
    field: str, value: Decimal, *, ceiling: Decimal = AMOUNT_CEILING
) -> list[ValidationIssue]:
    """Issues of an amount: finite, not negative, at most two decimals, below ``ceiling``."""
    if not value.is_finite():
        return [make_issue(field, "AMOUNT_FORMAT", str(value))]
    if value < 0:
        return [make_issue(field, "AMOUNT_NEGATIVE", str(value))]
    if value > ceiling:
        return [make_issue(field, "AMOUNT_TOO_LARGE", f"{value} (máximo {ceiling})")]
    if value != value.quantize(_CENT):  # safe: the value is finite and below the ceiling
        return [make_issue(field, "AMOUNT_PRECISION", str(value))]
    return []
