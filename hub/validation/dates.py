"""Dates of an item: ISO parsing and plausibility per field (birth, benefit, effective date)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Final

from hub.validation.issues import ValidationIssue, make_issue

__all__ = [
    "DATE_RULES",
    "MAX_AGE_YEARS",
    "DateRule",
    "coerce_date",
    "parse_iso_date",
    "validate_date",
]

#: Oldest plausible age of a living beneficiary.
MAX_AGE_YEARS: Final = 120


@dataclass(frozen=True, slots=True)
class DateRule:
    """Plausible range of one date field."""

    earliest: date
    max_future_days: int = 0  # how far after today the date may be
    max_age_years: int | None = None  # for birth dates: at most this many years before today


#: Rules per canonical field; a field not listed is only checked to be a date.
DATE_RULES: Final = MappingProxyType(
    {
        "fecha_nacimiento": DateRule(date(1900, 1, 1), 0, MAX_AGE_YEARS),
        "fecha_beneficio": DateRule(date(1990, 1, 1), 0),
        # A change may be registered ahead of the date it takes effect, within a year.
        "effective_date": DateRule(date(1990, 1, 1), 366),
        "fecha_levantamiento": DateRule(date(1990, 1, 1), 0),
    }
)
_DEFAULT_RULE: Final = DateRule(date(1900, 1, 1), 366)


def parse_iso_date(text: str) -> date:
    """``AAAA-MM-DD`` (a time part after ``T`` or a space is ignored). Raises ValueError."""
    value = text.strip()
    if len(value) > 10 and value[10] in "T ":
        value = value[:10]
    if len(value) != 10 or value[4] != "-" or value[7] != "-":
        raise ValueError(f"'{text}' no tiene el formato AAAA-MM-DD")
    return date.fromisoformat(value)


def coerce_date(field: str, value: object) -> tuple[date | None, list[ValidationIssue]]:
    """A date from a date, datetime or ISO string; otherwise None and a DATE_FORMAT issue."""
    if isinstance(value, datetime):
        return value.date(), []
    if isinstance(value, date):
        return value, []
    if isinstance(value, str):
        try:
            return parse_iso_date(value), []
        except ValueError:
            return None, [make_issue(field, "DATE_FORMAT", f"'{value}'")]
    return None, [make_issue(field, "DATE_FORMAT", f"se esperaba una fecha, no {value!r}")]


def validate_date(field: str, value: date, *, today: date | None = None) -> list[ValidationIssue]:
    """Issues of a date for a field: not in the future (beyond the field's margin), not too old."""
    rule = DATE_RULES.get(field, _DEFAULT_RULE)
    today = today or date.today()
    if rule.max_future_days:
        if value > today + timedelta(days=rule.max_future_days):
            return [make_issue(field, "DATE_FUTURE", f"{value.isoformat()} (hoy es {today})")]
    elif value > today:
        return [make_issue(field, "DATE_FUTURE", f"{value.isoformat()} (hoy es {today})")]
    if value < rule.earliest:
        detail = f"{value.isoformat()} es anterior a {rule.earliest.isoformat()}"
        return [make_issue(field, "DATE_TOO_OLD", detail)]
    if rule.max_age_years is not None and today.year - value.year > rule.max_age_years:
        detail = f"{value.isoformat()}: más de {rule.max_age_years} años"
        return [make_issue(field, "DATE_TOO_OLD", detail)]
    return []
