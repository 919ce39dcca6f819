"""Registry questions: enrolled in a month, paid in a territory and year, one person, totals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy.engine import Engine

from hub.registry import (
    ProgramEntry,
    RegistryQueryError,
    RegistryWriter,
    enrolled_in,
    month_range,
    paid_in,
    person_by_curp,
    seed_programs,
    stats,
)
from tests.hub.registry.conftest import PROGRAM, header, item

ANA = "LOMA900202MDFPRR02"
JUAN = "PEGJ800101HCSRRN01"


def test_who_was_enrolled_in_a_month_across_a_baja(registry: Engine) -> None:
    writer = RegistryWriter(registry)
    writer.apply(header("m1"), [item("R1", "ALTA", "2025-01-10", curp=JUAN)])
    writer.apply(header("m1b"), [item("R2", "ALTA", "2025-02-20", curp=ANA, nombre="Ana")])
    writer.apply(header("m2"), [item("R1", "BAJA", "2025-03-15", curp=JUAN, program=None)])
    curps = {
        m: [p.curp for p in enrolled_in(registry, PROGRAM, m)]
        for m in ("2024-12", "2025-01", "2025-02", "2025-03", "2025-04")
    }
    assert curps == {
        "2024-12": [],
        "2025-01": [JUAN],
        "2025-02": [ANA, JUAN],  # same surnames: ordered by nombre
        "2025-03": [ANA, JUAN],
        "2025-04": [ANA],
    }
    assert enrolled_in(registry, "OTRO", "2025-02") == []


def test_a_baja_on_the_first_of_a_month_is_not_enrolled_that_month(registry: Engine) -> None:
    writer = RegistryWriter(registry)
    writer.apply(header("m1"), [item("R1", "ALTA", "2025-01-10")])
    writer.apply(header("m2"), [item("R1", "BAJA", "2025-03-01", program=None)])
    assert [p.nombre for p in enrolled_in(registry, PROGRAM, "2025-02")] == ["JUAN"]
    assert enrolled_in(registry, PROGRAM, "2025-03") == []


def test_everything_a_program_paid_in_a_locality_in_a_year(registry: Engine) -> None:
    writer = RegistryWriter(registry)
    here, there = ("07", "089", "0001"), ("07", "089", "0002")
    writer.apply(header("a"), [item("R1", curp=JUAN, geo=here), item("R2", curp=ANA, geo=there)])
    writer.apply(
        header("p"),
        [
            item("R1", "PAGO", "2025-02-01", curp=JUAN, monto="1500.25", geo=here),
            item("R2", "PAGO", "2025-02-01", curp=ANA, monto="700", geo=there),
            item("R1", "PAGO", "2025-02-01", curp=JUAN, program="U010", geo=here),
        ],
    )
    # paid in 2024 and in 2025 without geography: counts at the record's address (here)
    writer.apply(header("q"), [item("R1", "PAGO", "2024-12-01", curp=JUAN, monto="9")])
    writer.apply(header("r"), [item("R1", "PAGO", "2025-05-01", curp=JUAN, monto="100", geo=None)])

    report = paid_in(registry, PROGRAM, "070890001", 2025)
    assert [(r.curp, r.monto, r.cvegeo) for r in report.rows] == [
        (JUAN, Decimal("1500.25"), "070890001"),
        (JUAN, Decimal("100.00"), "070890001"),
    ]
    assert report.total == Decimal("1600.25")
    assert paid_in(registry, PROGRAM, "07089", 2025).total == Decimal("2300.25")
    assert paid_in(registry, PROGRAM, "07", 2024).total == Decimal("9.00")
    assert paid_in(registry, PROGRAM, "08", 2025).rows == ()


@pytest.mark.parametrize("bad", ["7", "0708", "07A89", ""])
def test_paid_in_rejects_a_malformed_cvegeo(registry: Engine, bad: str) -> None:
    with pytest.raises(RegistryQueryError, match="CVEGEO"):
        paid_in(registry, PROGRAM, bad, 2025)


def test_month_range() -> None:
    assert month_range("2025-12") == (dt.date(2025, 12, 1), dt.date(2026, 1, 1))
    with pytest.raises(RegistryQueryError, match="AAAA-MM"):
        month_range("2025-13")


def test_person_by_curp_shows_programs_history_and_payments(registry: Engine) -> None:
    seed_programs(registry, [ProgramEntry(PROGRAM, "Pensión para el Bienestar", "S176")])
    writer = RegistryWriter(registry)
    writer.apply(header("m1"), [item("R1", curp=JUAN)])
    writer.apply(header("m2"), [item("R1", "PAGO", "2025-02-01", curp=JUAN)])
    writer.apply(header("m3"), [item("R1", "BAJA", "2025-06-01", curp=JUAN, program=None)])
    report = person_by_curp(registry, JUAN)
    assert report is not None
    assert report.person["nombre"] == "JUAN"
    assert report.programs == (
        {
            "program_key": PROGRAM,
            "program_name": "Pensión para el Bienestar",
            "agreement_id": "CONV-BIENESTAR-07",
            "status": "BAJA",
        },
    )
    assert [(h["status"], h["valid_from"]) for h in report.history] == [
        ("ACTIVA", dt.date(2025, 1, 10)),
        ("BAJA", dt.date(2025, 6, 1)),
    ]
    assert [p["monto_centavos"] for p in report.payments] == [150000]
    assert person_by_curp(registry, ANA) is None


def test_seed_programs_is_idempotent_and_updates_names(registry: Engine) -> None:
    RegistryWriter(registry).apply(header(), [item("R1")])  # creates a placeholder entry
    for _ in range(2):
        seed_programs(
            registry, [ProgramEntry(PROGRAM, "Pensión", "S176"), ProgramEntry("U010", "Otro")]
        )
    report = person_by_curp(registry, JUAN)
    assert report is not None and report.programs[0]["program_name"] == "Pensión"


def test_stats(registry: Engine) -> None:
    assert stats(registry) == {
        "people": 0,
        "source_records": 0,
        "active_enrollments": {},
        "payments": {"count": 0, "total": Decimal("0.00")},
        "deliveries": 0,
        "applied_items": 0,
    }
    writer = RegistryWriter(registry)
    writer.apply(
        header("m1"), [item("R1"), item("R2", curp=ANA), item("R3", curp=None, program="U010")]
    )
    writer.apply(header("m2"), [item("R1", "PAGO", "2025-02-01", monto="10.50")])
    result = stats(registry)
    assert result["people"] == 3 and result["source_records"] == 3
    assert result["active_enrollments"] == {PROGRAM: 2, "U010": 1}
    assert result["payments"] == {"count": 1, "total": Decimal("10.50")}
    assert (result["deliveries"], result["applied_items"]) == (1, 4)
