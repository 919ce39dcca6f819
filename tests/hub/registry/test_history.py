"""The enrollment fold, without a database: order-key ordering and same-day rules."""

from __future__ import annotations

import datetime as dt
import itertools

from hub.registry import EnrollmentEvent, fold


def ev(op: str, day: str, program: str | None = "S176", monto: int | None = 100) -> EnrollmentEvent:
    return EnrollmentEvent(
        version=f"{day}|t|{op}",
        operation=op,
        effective_date=dt.date.fromisoformat(day),
        message_id=f"m-{op}-{day}",
        program_key=program,
        tipo_beneficio="MONETARIO" if program else None,
        monto_centavos=monto if program else None,
        titular=None,
        cve_ent=None,
        cve_mun=None,
        cve_loc=None,
    )


def _shape(events: list[EnrollmentEvent]) -> list[tuple[str, str, str | None]]:
    return [
        (s.status, s.valid_from.isoformat(), s.valid_to and s.valid_to.isoformat())
        for s in fold(events)
    ]


def test_every_arrival_order_folds_to_the_same_history() -> None:
    events = [
        ev("ALTA", "2025-01-10"),
        ev("CAMBIO", "2025-02-01", monto=200),
        ev("PAGO", "2025-02-15"),
        ev("BAJA", "2025-04-01", program=None),
    ]
    expected = [
        ("ACTIVA", "2025-01-10", "2025-02-01"),
        ("ACTIVA", "2025-02-01", "2025-04-01"),
        ("BAJA", "2025-04-01", None),
    ]
    for order in itertools.permutations(events):
        assert _shape(list(order)) == expected


def test_an_event_that_changes_nothing_opens_no_state() -> None:
    assert _shape([ev("ALTA", "2025-01-10"), ev("CAMBIO", "2025-03-01")]) == [
        ("ACTIVA", "2025-01-10", None)
    ]


def test_a_later_state_on_the_same_day_supersedes() -> None:
    assert _shape([ev("ALTA", "2025-01-10"), ev("BAJA", "2025-01-10", program=None)]) == [
        ("BAJA", "2025-01-10", None)
    ]


def test_back_to_the_previous_state_on_the_same_day_reopens_it() -> None:
    events = [ev("ALTA", "2025-01-10"), ev("BAJA", "2025-03-01"), ev("CAMBIO", "2025-03-01")]
    events[2] = events[2]._replace(operation="ALTA", version="2025-03-01|u|ALTA")
    assert _shape(events) == [("ACTIVA", "2025-01-10", None)]


def test_a_baja_without_program_and_without_history_opens_nothing() -> None:
    assert fold([ev("BAJA", "2025-01-10", program=None)]) == []


def test_a_cambio_without_alta_is_taken_as_enrolled() -> None:
    assert _shape([ev("CAMBIO", "2025-01-10")]) == [("ACTIVA", "2025-01-10", None)]
