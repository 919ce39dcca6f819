"""Validation of one canonical padrón item: every field, and the CURP against the record itself.

Runs in the producer before sending and in the hub's gatekeeper on every record, so it is written
for speed: regexes and tables are built once, name and geography checks are memoized, and a valid
item allocates little more than its empty result list.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date
from decimal import Decimal
from typing import Final

from hub.validation.amounts import AmountFormatError, parse_amount, validate_amount
from hub.validation.curp import birth_state_renapo, check_consistency, validate_curp
from hub.validation.curp_rules import SEX_CODES
from hub.validation.dates import coerce_date, validate_date
from hub.validation.geography import GeoCatalog
from hub.validation.issues import ValidationIssue, make_issue
from hub.validation.names import validate_name

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
_NAMES: Final = ("primer_apellido", "segundo_apellido", "nombre")
_DATES: Final = ("fecha_nacimiento", "fecha_beneficio", "effective_date")
_BOOLEANS: Final = ("discapacidad", "indigena", "titular")


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


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
        if field not in _GEOGRAPHY and _missing(get(field)):
            issues.append(make_issue(field, "REQUIRED"))
    if operation is not None and operation not in OPERATIONS:
        issues.append(make_issue("operation", "OPERATION_INVALID", repr(operation)))

    for field in _NAMES:
        value = get(field)
        if value is not None and value != "":
            issues.extend(validate_name(field, value))

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

    dates: dict[str, date | None] = {}
    for field in _DATES:
        value = get(field)
        if _missing(value):
            dates[field] = None
            continue
        if type(value) is date:
            day: date | None = value
        else:
            day, problems = coerce_date(field, value)
            issues.extend(problems)
        if day is not None:
            issues.extend(validate_date(field, day, today=today))
        dates[field] = day
    born = dates["fecha_nacimiento"]
    paid = dates["fecha_beneficio"]
    if born is not None and paid is not None and paid < born:
        issues.append(make_issue("fecha_beneficio", "DATE_BEFORE_BIRTH", paid.isoformat()))

    curp = get("curp")
    if not _missing(curp):
        issues.extend(_curp_issues(values, curp, born, sexo, entidad, today))

    monto = get("monto")
    if not _missing(monto):
        issues.extend(_amount_issues(monto))

    for field in _BOOLEANS:
        value = get(field)
        if value is not None and not isinstance(value, bool):
            issues.append(make_issue(field, "BOOLEAN_INVALID", repr(value)))

    key, geo_issues = catalog.normalize_geography(
        get("cve_ent"), get("cve_mun"), get("cve_loc"), get("cvegeo")
    )
    if geo_issues:
        issues.extend(i for i in geo_issues if i.code != "REQUIRED" or i.field in required)
    elif key is None:
        issues.extend(make_issue(f, "REQUIRED") for f in ("cve_ent", "cve_mun") if f in required)
    elif key.cve_loc is None and "cve_loc" in required:
        issues.append(make_issue("cve_loc", "REQUIRED"))
    return issues


def _curp_issues(
    values: Mapping[str, object],
    curp: object,
    born: date | None,
    sexo: object,
    entidad: object,
    today: date,
) -> list[ValidationIssue]:
    if not isinstance(curp, str):
        return [make_issue("curp", "CURP_STRUCTURE", f"se esperaba texto, no {curp!r}")]
    issues = validate_curp(curp, today=today)
    if issues:
        return issues
    names = [values.get(f) for f in _NAMES]
    primer, segundo, nombre = (n if isinstance(n, str) else None for n in names)
    return check_consistency(
        curp,
        primer_apellido=primer,
        segundo_apellido=segundo,
        nombre=nombre,
        fecha_nacimiento=born,
        sexo=sexo if isinstance(sexo, str) else None,
        entidad_nacimiento=entidad if isinstance(entidad, str) else None,
    )


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
