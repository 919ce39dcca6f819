"""Per-item checks of an authenticated change set: program, scope, validation, quality facts.

Order of refusal reasons for one item: program outside the agreement, a field outside the
agreement's scope (sensitive fields only where declared), then ``hub.validation`` errors (the
first one names the reason; the message lists them all), then a ``reference_id`` that an earlier
accepted item of the same change set already carries with other content (the registry's
idempotency key is agreement, message and reference: the later item would be taken for a
duplicate and silently dropped, e.g. an ALTA and a PAGO of one padrón row in one change set).
An exact repetition is a duplicate, not a refusal: it is accepted (and counted) once.
Validation runs on every item anyway, because compliance measures CURP validity and completeness
over everything received.

Contract fields that are not in the canonical vocabulary ride with their group: ``periodicidad``
(ChangeSet v2) belongs to the benefit and is in scope when ``tipo_beneficio`` is; ``ageb`` belongs
to the geography and is in scope when ``cve_loc`` is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hub.agreements.model import Agreement
from hub.fields import ITEM_FIELDS, SENSITIVE_FIELDS
from hub.gatekeeper.reasons import (
    CAMPO_FUERA_DE_ALCANCE,
    PROGRAMA_FUERA_DE_CONVENIO,
    REFERENCIA_REPETIDA,
    describe,
)
from hub.gatekeeper.verdict import CurpState, ItemQuality, RejectedItem
from hub.registry.items import ChangeItem, ChangeSetHeader
from hub.validation.geography import GeoCatalog
from hub.validation.record import BAJA_REQUIRED, DEFAULT_REQUIRED, PAGO_REQUIRED, validate_item

__all__ = ["ItemChecks", "check_items", "flatten", "required_fields"]

#: Non-canonical contract fields and the canonical field whose scope covers them.
_COVERED_BY = {"periodicidad": "tipo_beneficio", "ageb": "cve_loc"}
_ITEM_FIELDS = frozenset(ITEM_FIELDS)
#: The contract's geography keys, in scope when the agreement declares ``cvegeo`` (the same keys).
_GEO_PARTS = frozenset({"cve_ent", "cve_mun", "cve_loc"})


def flatten(item: ChangeItem) -> dict[str, Any]:
    """The item as canonical field → value (person, benefit and geography merged)."""
    flat: dict[str, Any] = {
        "reference_id": item.get("reference_id"),
        "operation": item.get("operation"),
        "effective_date": item.get("effective_date"),
    }
    person = item.get("person")
    if person:
        flat.update(person)
    benefit = item.get("benefit")
    if benefit:
        flat.update(benefit)
    geography = item.get("geography")
    if geography:
        flat.update(geography)
    return flat


def required_fields(operation: object) -> frozenset[str]:
    """Fields an item with ``operation`` must carry (as ``validate_item`` requires them)."""
    if operation == "BAJA":
        return BAJA_REQUIRED & DEFAULT_REQUIRED
    if operation == "PAGO":
        return PAGO_REQUIRED | DEFAULT_REQUIRED
    return DEFAULT_REQUIRED


def _present(value: object) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _outside(agreement: Agreement, name: str) -> bool:
    """Whether a non-null ``name`` is outside the agreement's scope (see ``_ScopeCheck``)."""
    if name in _ITEM_FIELDS:
        return False
    scoped = _COVERED_BY.get(name, name)
    if not agreement.allows_field(scoped) and not (
        name in _GEO_PARTS and agreement.allows_field("cvegeo")
    ):
        return True
    return scoped in SENSITIVE_FIELDS and scoped not in agreement.scope.sensitive


class _ScopeCheck:
    """The scope check of one agreement, decided once per field name instead of once per item."""

    def __init__(self, agreement: Agreement) -> None:
        self._agreement = agreement
        self._decided: set[str] = set()
        self._denied: set[str] = set()

    def first_outside(self, flat: dict[str, Any]) -> str | None:
        """The first non-null field of ``flat`` the agreement does not allow, or None."""
        new = flat.keys() - self._decided
        if new:
            self._denied.update(name for name in new if _outside(self._agreement, name))
            self._decided.update(new)
        denied = self._denied
        if not denied or all(flat.get(name) is None for name in denied):
            return None
        return next(n for n, v in flat.items() if v is not None and n in denied)


@dataclass(frozen=True)
class ItemChecks:
    """The per-item result: accepted items, rejected items and quality facts of every item."""

    accepted: tuple[ChangeItem, ...]
    rejected: tuple[RejectedItem, ...]
    quality: tuple[ItemQuality, ...]


def check_items(
    agreement: Agreement,
    header: ChangeSetHeader,
    items: Sequence[ChangeItem],
    catalog: GeoCatalog,
    today: dt.date,
) -> ItemChecks:
    """Check every item of an authenticated, allowed change set (pure)."""
    accepted: list[ChangeItem] = []
    rejected: list[RejectedItem] = []
    quality: list[ItemQuality] = []
    seen_refs: set[str] = set()
    seen_curps: set[str] = set()
    accepted_by_ref: dict[str, ChangeItem] = {}
    scope = _ScopeCheck(agreement)
    programs = set(agreement.program_keys)
    required_by_op = {op: required_fields(op) for op in (None, "ALTA", "CAMBIO", "BAJA", "PAGO")}
    sent_at = header["sent_at"]
    if sent_at.tzinfo is None:
        sent_at = sent_at.replace(tzinfo=dt.UTC)
    lags: dict[dt.date, float] = {}  # by effective date (a delivery repeats a few dates)
    # equal quality facts share one object: most items of a clean delivery have the same ones
    qualities: dict[tuple[CurpState, int, int, bool, float], ItemQuality] = {}
    for item in items:
        flat = flatten(item)
        ref = str(flat.get("reference_id") or "")
        issues = validate_item(flat, catalog=catalog, today=today)
        errors = [issue for issue in issues if issue.is_error] if issues else issues
        curp = flat.get("curp")
        curp_state: CurpState = "absent"
        if _present(curp):
            bad = bool(errors) and any(issue.field == "curp" for issue in errors)
            curp_state = "invalid" if bad else "valid"
        operation = flat.get("operation")
        required = required_by_op.get(operation)
        if required is None:
            required = required_fields(operation)
        present = 0
        for name in required:
            value = flat.get(name)
            if value is not None and not (isinstance(value, str) and not value.strip()):
                present += 1
        duplicate = ref in seen_refs or (isinstance(curp, str) and curp in seen_curps)
        seen_refs.add(ref)
        if isinstance(curp, str):
            seen_curps.add(curp)
        effective = flat.get("effective_date")
        lag = 0.0
        if isinstance(effective, dt.date):
            known_lag = lags.get(effective)
            if known_lag is None:
                start = dt.datetime(effective.year, effective.month, effective.day, tzinfo=dt.UTC)
                known_lag = lags[effective] = max(0.0, (sent_at - start).total_seconds())
            lag = known_lag
        facts = (curp_state, len(required), present, duplicate, lag)
        fact = qualities.get(facts)
        if fact is None:
            fact = qualities[facts] = ItemQuality(*facts)
        quality.append(fact)

        program = flat.get("clave_programa")
        outside = scope.first_outside(flat)
        if _present(program) and str(program) not in programs:
            detail = f"'{program}' (el convenio cubre: {', '.join(agreement.program_keys)})"
            message = describe(PROGRAMA_FUERA_DE_CONVENIO, detail)
            rejected.append(
                RejectedItem(ref, PROGRAMA_FUERA_DE_CONVENIO, message, "clave_programa")
            )
        elif outside is not None:
            kind = "dato sensible no declarado" if outside in SENSITIVE_FIELDS else "campo"
            message = describe(CAMPO_FUERA_DE_ALCANCE, f"{kind} '{outside}'")
            rejected.append(RejectedItem(ref, CAMPO_FUERA_DE_ALCANCE, message, outside))
        elif errors:
            first = errors[0]
            message = "; ".join(f"{e.field}: {e.message}" for e in errors)
            rejected.append(RejectedItem(ref, first.code, message, first.field))
        elif (earlier := accepted_by_ref.get(ref)) is not None:
            if earlier == item:
                continue  # an exact repetition: a duplicate (counted above), accepted once
            detail = (
                f"'{ref}' ya viene en este conjunto con operación {earlier.get('operation')}; "
                f"este elemento ({operation}) va en otro conjunto"
            )
            message = describe(REFERENCIA_REPETIDA, detail)
            rejected.append(RejectedItem(ref, REFERENCIA_REPETIDA, message, "reference_id"))
        else:
            accepted_by_ref[ref] = item
            accepted.append(item)
    return ItemChecks(tuple(accepted), tuple(rejected), tuple(quality))
