"""Validation of one canonical padrón item: every field, and the CURP against the record itself.

Runs in the producer before sending and in the hub's gatekeeper on every record, so it is written
for speed: regexes and tables are built once, name and geography checks are memoized, and a valid
item allocates little more than its empty result list.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Final

from hub.validation.amounts import AmountFormatError, parse_amount, validate_amount
from hub.validation.curp import birth_state_renapo, check_curp
from hub.validation.curp_rules import SEX_CODES
from hub.validation.dates import DATE_RULES, coerce_date, validate_date
from hub.validation.geography import GeoCatalog
from hub.validation.issues import ValidationIssue, make_issue
from hub.validation.names import _name_problem, validate_name

__all__ = ["BAJA_REQUIRED", "DEFAULT_REQUIRED", "OPERATIONS", "PAGO_REQUIRED", "validate_item"]

#: Fields an item must carry unless its agreement says otherwise.
DEFAULT_REQUIRED: Final = frozenset(
    {
        "reference_id",
        "operation",
        "primer_apellido",
        "nombre",
        "fecha_nacimiento",
        "sexo",
        "clave_programa",
        "cve_ent",
        "cve_mun",
    }
)
#: A BAJA (the person leaves the padrón) needs only these of the required fields.
BAJA_REQUIRED: Final = frozenset({"reference_id", "operation", "clave_programa"})
#: A PAGO (benefit paid) needs these on top of the required fields.
PAGO_REQUIRED: Final = frozenset({"monto", "fecha_beneficio"})
OPERATIONS: Final = frozenset({"ALTA", "CAMBIO", "BAJA", "PAGO"})

_GEOGRAPHY: Final = frozenset({"cve_ent", "cve_mun", "cve_loc", "cvegeo"})
_DATES: Final = ("fecha_nacimiento", "fecha_beneficio", "effective_date")
_BOOLEANS: Final = ("discapacidad", "indigena", "titular")


_WHITESPACE: Final = frozenset(" \t\n\r\x0b\x0c\xa0")
#: Amounts already found valid (finite, not negative, two decimals, under the ceiling).
_GOOD_AMOUNTS: set[Decimal] = set()
_AMOUNT_MEMO_LIMIT: Final = 10_000


def _is_missing(value: object) -> bool:
    if not value:
        return value is None or value == ""
    return type(value) is str and value[0] in _WHITESPACE and value.isspace()


@lru_cache(maxsize=4)
def _date_bounds(today: date) -> dict[str, tuple[date, date]]:
    """(earliest, latest) plausible value of each checked date field, for the fast path."""
    bounds = {}
    for field in _DATES:
        rule = DATE_RULES[field]
        earliest = rule.earliest
        if rule.max_age_years is not None:
            earliest = max(earliest, date(today.year - rule.max_age_years, 1, 1))
        bounds[field] = (earliest, today + timedelta(days=rule.max_future_days))
    return bounds


def validate_item(
    values: Mapping[str, object],
    *,
    catalog: GeoCatalog,
    required: Collection[str] = DEFAULT_REQUIRED,
    today: date | None = None,
) -> list[ValidationIssue]:
    """Every issue of one item (keys of ``hub.fields``; values already typed or None).

    Warnings (an unknown locality) do not reject the item; see ``issues.has_errors``.
    """
    today = today or date.today()
    get = values.get
    issues: list[ValidationIssue] = []

    operation = get("operation")
    if operation == "BAJA":
        required = BAJA_REQUIRED.intersection(required)
    elif operation == "PAGO":
        required = PAGO_REQUIRED.union(required)
    for field in required:
        value = get(field)
        if (
            (not value or (type(value) is str and value[0] in _WHITESPACE and value.isspace()))
            and _is_missing(value)
            and field not in _GEOGRAPHY
        ):
            issues.append(make_issue(field, "REQUIRED"))
    if operation is not None and operation not in OPERATIONS:
        issues.append(make_issue("operation", "OPERATION_INVALID", repr(operation)))

    primer = get("primer_apellido")
    segundo = get("segundo_apellido")
    nombre = get("nombre")
    # a well-formed name (the usual case) is one memoized lookup, without building a list
    if primer and (type(primer) is not str or _name_problem(primer) is not None):
        issues.extend(validate_name("primer_apellido", primer))
    if segundo and (type(segundo) is not str or _name_problem(segundo) is not None):
        issues.extend(validate_name("segundo_apellido", segundo))
    if nombre and (type(nombre) is not str or _name_problem(nombre) is not None):
        issues.extend(validate_name("nombre", nombre))

    sexo = get("sexo")
    if sexo is not None and sexo not in SEX_CODES and sexo != "":
        issues.append(make_issue("sexo", "SEX_INVALID", repr(sexo)))
        sexo = None
    entidad = get("entidad_nacimiento")
    if (entidad is not None and entidad != "") and (
        not isinstance(entidad, str) or birth_state_renapo(entidad) is None
    ):
        issues.append(make_issue("entidad_nacimiento", "BIRTH_STATE_INVALID", repr(entidad)))
        entidad = None

    bounds = _date_bounds(today)
    born = _checked_date(get("fecha_nacimiento"), "fecha_nacimiento", bounds, today, issues)
    paid = _checked_date(get("fecha_beneficio"), "fecha_beneficio", bounds, today, issues)
    _checked_date(get("effective_date"), "effective_date", bounds, today, issues)
    if born is not None and paid is not None and paid < born:
        issues.append(make_issue("fecha_beneficio", "DATE_BEFORE_BIRTH", paid.isoformat()))

    curp = get("curp")
    if curp:
        if type(curp) is str:
            issues.extend(
                check_curp(
                    curp,
                    today=today,
                    primer_apellido=_known_name(primer),
                    segundo_apellido=segundo if isinstance(segundo, str) else None,
                    nombre=_known_name(nombre),
                    fecha_nacimiento=born,
                    sexo=sexo if isinstance(sexo, str) else None,
                    entidad_nacimiento=entidad if isinstance(entidad, str) else None,
                )
            )
        else:
            detail = f"se esperaba texto, no {curp!r}"
            issues.append(make_issue("curp", "CURP_STRUCTURE", detail))

    monto = get("monto")
    # (a signalling NaN has no hash: only finite amounts go through the memo)
    known = monto if isinstance(monto, Decimal) and monto.is_finite() else None
    if monto is not None and monto != "" and not (known is not None and known in _GOOD_AMOUNTS):
        found = _amount_issues(monto)
        if found:
            issues.extend(found)
        elif known is not None and len(_GOOD_AMOUNTS) < _AMOUNT_MEMO_LIMIT:
            _GOOD_AMOUNTS.add(known)  # a padrón pays a handful of distinct amounts

    for field in _BOOLEANS:
        value = get(field)
        if value is not None and value is not True and value is not False:
            issues.append(make_issue(field, "BOOLEAN_INVALID", repr(value)))

    key, geo_issues = catalog.normalized_geography(
        get("cve_ent"), get("cve_mun"), get("cve_loc"), get("cvegeo")
    )
    if geo_issues:
        issues.extend(i for i in geo_issues if i.code != "REQUIRED" or i.field in required)
    elif key is None:
        issues.extend(make_issue(f, "REQUIRED") for f in ("cve_ent", "cve_mun") if f in required)
    elif key.cve_loc is None and "cve_loc" in required:
        issues.append(make_issue("cve_loc", "REQUIRED"))
    return issues


def _known_name(value: object) -> str | None:
    """A name to compare with the CURP; a missing one is unknown (REQUIRED reports it)."""
    return value if isinstance(value, str) and value and not value.isspace() else None


def _checked_date(
    value: object,
    field: str,
    bounds: Mapping[str, tuple[date, date]],
    today: date,
    issues: list[ValidationIssue],
) -> date | None:
    """The field's date (None when absent or unreadable); its issues are appended."""
    if value is None or value == "":
        return None
    if type(value) is date:
        earliest, latest = bounds[field]
        if earliest <= value <= latest:
            return value  # the fast path: a plausible date needs no further look
        day: date | None = value
    else:
        day, problems = coerce_date(field, value)
        issues.extend(problems)
    if day is not None:
        issues.extend(validate_date(field, day, today=today))
    return day


def _amount_issues(monto: object) -> list[ValidationIssue]:
    if isinstance(monto, Decimal):
        return validate_amount("monto", monto)
    if isinstance(monto, int) and not isinstance(monto, bool):
        return validate_amount("monto", Decimal(monto))
    if isinstance(monto, str):
        try:
            return validate_amount("monto", parse_amount(monto))
        except AmountFormatError as exc:
            return [exc.issue]
    return [make_issue("monto", "AMOUNT_FORMAT", f"se esperaba un número decimal, no {monto!r}")]
