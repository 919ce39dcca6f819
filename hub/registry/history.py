"""Enrollment history of one padrón row, folded from its items in order-key order (pure).

Rules (effective-date ordering wins; no item is ever lost, whatever the arrival order):

- Events are sorted by their order key (:func:`hub.registry.items.version`) before folding, so a
  BAJA that arrives before its ALTA, or a CAMBIO older than the current state, lands where its
  effective date puts it; the registry re-folds a record's whole ledger when such an item arrives.
- ALTA opens an ACTIVA state; BAJA opens a BAJA state (closing the current one at its effective
  date); CAMBIO keeps the status (an unknown record is taken as ACTIVA: a change implies an
  enrollment) and rolls the benefit/geography attributes. PAGO does not change the enrollment.
- Benefit or geography absent from an item are inherited from the current state; an item that
  names no program and has no current state opens nothing (it stays in the ledger).
- An event that changes nothing (same status, program and attributes) opens no new state. Two
  states opened on the same date: the later in order supersedes the earlier (a state is never
  zero days long).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import NamedTuple

__all__ = ["ACTIVA", "BAJA", "EnrollmentEvent", "Span", "fold"]

ACTIVA = "ACTIVA"
BAJA = "BAJA"


class EnrollmentEvent(NamedTuple):
    """What an item says about its record's enrollment (a named tuple: cheap to make)."""

    version: str
    operation: str
    effective_date: dt.date
    message_id: str
    program_key: str | None  # None: the item carried no benefit
    tipo_beneficio: str | None
    monto_centavos: int | None
    titular: bool | None
    cve_ent: str | None  # None: the item carried no geography
    cve_mun: str | None
    cve_loc: str | None


class Span(NamedTuple):
    """One enrollment state over [valid_from, valid_to) (``valid_to`` None: current)."""

    status: str
    program_key: str
    valid_from: dt.date
    valid_to: dt.date | None
    tipo_beneficio: str | None
    monto_centavos: int | None
    titular: bool | None
    cve_ent: str | None
    cve_mun: str | None
    cve_loc: str | None
    message_id: str

    def same_state(self, other: Span) -> bool:
        """True when both describe the same status, program and attributes."""
        return self[:2] == other[:2] and self[4:10] == other[4:10]


def _next_span(event: EnrollmentEvent, current: Span | None) -> Span | None:
    program = event.program_key or (current.program_key if current else None)
    if program is None or event.operation == "PAGO":
        return None
    if event.program_key is not None:
        benefit = (event.tipo_beneficio, event.monto_centavos, event.titular)
    elif current is not None:
        benefit = (current.tipo_beneficio, current.monto_centavos, current.titular)
    else:
        benefit = (None, None, None)
    geo: tuple[str | None, str | None, str | None]
    if event.cve_ent is not None:
        geo = (event.cve_ent, event.cve_mun, event.cve_loc)
    elif current is not None:
        geo = (current.cve_ent, current.cve_mun, current.cve_loc)
    else:
        geo = (None, None, None)
    if event.operation == "ALTA":
        status = ACTIVA
    elif event.operation == "BAJA":
        status = BAJA
    else:
        status = current.status if current is not None else ACTIVA
    return Span(status, program, event.effective_date, None, *benefit, *geo, event.message_id)


def fold(events: Iterable[EnrollmentEvent]) -> list[Span]:
    """The enrollment history the events describe, oldest first."""
    spans: list[Span] = []
    ordered = list(events)
    if len(ordered) == 1:  # the common case: a new record's ALTA
        first = _next_span(ordered[0], None)
        return [first] if first is not None else []
    for event in sorted(ordered, key=lambda e: e.version):
        current = spans[-1] if spans else None
        new = _next_span(event, current)
        if new is None or (current is not None and new.same_state(current)):
            continue
        if current is not None:
            if current.valid_from == new.valid_from:
                spans.pop()  # superseded on the same day
                previous = spans[-1] if spans else None
                if previous is not None and previous.same_state(new):
                    spans[-1] = previous._replace(valid_to=None)
                    continue
            else:
                spans[-1] = current._replace(valid_to=new.valid_from)
        spans.append(new)
    return spans
