"""How the history questions are asked: months, years and CVEGEO that cannot be right are told
clearly (never a Python ValueError, never a silent empty answer)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.engine import Engine

from hub.registry import (
    RegistryQueryError,
    RegistryWriter,
    enrolled_in,
    month_range,
    paid_in,
    person_by_curp,
    stats,
)
from tests.hub.registry.conftest import PROGRAM, header, item

JUAN = "PEGJ800101HCSRRN01"
ANA = "LOMA900202MDFPRR02"


@pytest.mark.parametrize("month", ["0000-01", "9999-12", "２０２５-０３", "2025-00", "2025-3"])
def test_a_month_outside_the_calendar_or_not_in_ascii_digits(month: str) -> None:
    with pytest.raises(RegistryQueryError, match="mes inválido"):
        month_range(month)


def test_the_last_month_the_calendar_can_end() -> None:
    assert month_range("9998-12")[1].year == 9999


@pytest.mark.parametrize("cvegeo", ["０７", "07０89", "²7"])
def test_a_cvegeo_in_other_digits_is_refused_not_an_empty_answer(
    registry: Engine, cvegeo: str
) -> None:
    with pytest.raises(RegistryQueryError, match="CVEGEO inválida"):
        paid_in(registry, PROGRAM, cvegeo, 2025)


def test_enrolled_in_refuses_a_bad_month(registry: Engine) -> None:
    with pytest.raises(RegistryQueryError, match="AAAA-MM"):
        enrolled_in(registry, PROGRAM, "0000-01")


def test_a_person_in_a_program_through_two_rows_is_active_while_one_is(registry: Engine) -> None:
    writer = RegistryWriter(registry)
    writer.apply(header("a"), [item("R1", "ALTA", "2025-01-10")])
    writer.apply(header("b"), [item("R2", "ALTA", "2025-02-10")])  # the same CURP, another row
    writer.apply(header("c"), [item("R2", "BAJA", "2025-03-10", program=None)])
    report = person_by_curp(registry, JUAN)
    assert report is not None
    assert [(p["program_key"], p["status"]) for p in report.programs] == [(PROGRAM, "ACTIVA")]
    writer.apply(header("d"), [item("R1", "BAJA", "2025-04-10", program=None)])
    report = person_by_curp(registry, JUAN)
    assert report is not None
    assert [(p["program_key"], p["status"]) for p in report.programs] == [(PROGRAM, "BAJA")]


def test_stats_counts_who_is_enrolled_today_not_who_will_be(registry: Engine) -> None:
    today = dt.date.today()
    soon, past = today + dt.timedelta(days=20), today - dt.timedelta(days=200)
    writer = RegistryWriter(registry)
    writer.apply(header("a"), [item("R1", "ALTA", past, curp=JUAN)])
    writer.apply(header("b"), [item("R1", "BAJA", soon, curp=JUAN, program=None)])  # leaves soon
    writer.apply(header("c"), [item("R2", "ALTA", soon, curp=ANA, nombre="Ana", program="E003")])
    writer.apply(header("d"), [item("R3", "ALTA", past, curp=None, program="U010")])
    writer.apply(header("e"), [item("R3", "BAJA", today, curp=None, program=None)])  # out today
    # JUAN is enrolled today (his BAJA takes effect in 20 days); ANA joins E003 in 20 days; R3
    # left U010 today
    assert stats(registry)["active_enrollments"] == {PROGRAM: 1}


def test_a_persons_program_status_is_todays(registry: Engine) -> None:
    today = dt.date.today()
    soon, past = today + dt.timedelta(days=20), today - dt.timedelta(days=200)
    writer = RegistryWriter(registry)
    writer.apply(header("a"), [item("R1", "ALTA", past)])
    writer.apply(header("b"), [item("R1", "BAJA", soon, program=None)])  # leaves in 20 days
    writer.apply(header("c"), [item("R2", "ALTA", soon, program="E003")])  # joins in 20 days
    report = person_by_curp(registry, JUAN)
    assert report is not None
    assert {p["program_key"]: p["status"] for p in report.programs} == {
        PROGRAM: "ACTIVA",
        "E003": "PENDIENTE",  # not enrolled yet
    }


def test_the_enrolled_list_is_in_the_same_spanish_order_on_every_database(
    registry: Engine,
) -> None:
    people = [  # (CURP, primer apellido, segundo apellido, nombre)
        ("NUZA800101HDFRRR01", "Nuz", "Alba", "Ana"),
        ("NUNA800101HDFRRR02", "Núñez", "Alba", "Ana"),  # Ñ after N, before O
        ("NUNB800101HDFRRR03", "Nunez", None, "Beto"),  # no second surname: before any
        ("NUNC800101HDFRRR04", "Nunez", "Zeta", "Carla"),
        ("OROA800101HDFRRR05", "Oro", None, "Ana"),
    ]
    items = []
    for n, (curp, first, second, name) in enumerate(people):
        entry = item(f"R{n}", curp=curp, primer_apellido=first, nombre=name)
        entry["person"]["segundo_apellido"] = second
        items.append(entry)
    RegistryWriter(registry).apply(header("a", items=len(items)), items)
    listed = [
        (p.primer_apellido, p.segundo_apellido) for p in enrolled_in(registry, PROGRAM, "2025-01")
    ]
    assert listed == [
        ("NUNEZ", None),
        ("NUNEZ", "ZETA"),
        ("NUÑEZ", "ALBA"),
        ("NUZ", "ALBA"),
        ("ORO", None),
    ]
