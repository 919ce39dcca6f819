"""The two history questions under hostile delivery: replays, reversed and interleaved change sets,
re-enrollment, BAJA before ALTA, moves, month and year edges, time zones, shared CURPs.

Each scenario states the answer worked out by hand and checks ``enrolled_in`` ("who was enrolled
in program P in month M") and ``paid_in`` ("everything P paid in a locality in a year") against
it, on SQLite and PostgreSQL (the ``registry`` fixture runs both), for every delivery order.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from decimal import Decimal

import pytest
from sqlalchemy.engine import Engine

from hub.registry import (
    ChangeItem,
    ChangeSetHeader,
    RegistryQueryError,
    RegistryWriter,
    enrolled_in,
    paid_in,
)
from tests.hub.registry.conftest import PROGRAM, clear, header, item

ANA = "LOMA900202MDFPRR02"
JUAN = "PEGJ800101HCSRRN01"
HERE, THERE, FAR = ("07", "089", "0001"), ("07", "089", "0002"), ("07", "101", "0001")
MONTHS = [f"2025-{m:02d}" for m in range(1, 13)]

Delivery = tuple[ChangeSetHeader, list[ChangeItem]]


def _at(day: str, hour: int = 12, tz: dt.tzinfo = dt.UTC) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=tz)


def _cs(message: str, sent: str, *items: ChangeItem) -> Delivery:
    return header(message, sent_at=_at(sent), items=len(items)), list(items)


def _who(engine: Engine, months: Sequence[str] = MONTHS) -> dict[str, list[str | None]]:
    return {m: [p.curp for p in enrolled_in(engine, PROGRAM, m)] for m in months}


def _paid(engine: Engine, cvegeo: str, year: int = 2025) -> list[tuple[str, str, str]]:
    return [
        (r.fecha_beneficio.isoformat(), str(r.monto), r.cvegeo)
        for r in paid_in(engine, PROGRAM, cvegeo, year).rows
    ]


def _every_order(
    engine: Engine, deliveries: Sequence[Delivery], check: object, *, twice: bool = True
) -> None:
    """Apply ``deliveries`` in every order (and each replayed) and run ``check`` after each."""
    assert callable(check)
    for order in itertools.permutations(deliveries):
        clear(engine)
        writer = RegistryWriter(engine)
        for head, items in order:
            writer.apply(head, items)
            if twice:  # at-least-once delivery: the same message again changes nothing
                assert writer.apply(head, items).applied == 0
        check()


def test_re_enrollment_across_month_boundaries_in_any_order(registry: Engine) -> None:
    deliveries = [
        _cs("m1", "2025-01-15", item("R1", "ALTA", "2025-01-15", curp=JUAN)),
        _cs("m2", "2025-03-01", item("R1", "BAJA", "2025-03-01", curp=JUAN, program=None)),
        _cs("m3", "2025-05-31", item("R1", "ALTA", "2025-05-31", curp=JUAN)),
    ]
    expected = {m: [JUAN] for m in MONTHS}
    expected["2025-03"] = expected["2025-04"] = []  # out from 1 March, back on 31 May
    _every_order(registry, deliveries, lambda: _assert_equal(_who(registry), expected))


def test_a_baja_that_arrives_before_its_alta(registry: Engine) -> None:
    for baja_program in (None, PROGRAM):  # a BAJA naming its program, or not
        deliveries = [
            _cs("b", "2025-04-10", item("R1", "BAJA", "2025-04-10", program=baja_program)),
            _cs("a", "2025-02-10", item("R1", "ALTA", "2025-02-10")),
        ]
        expected = {m: [] for m in MONTHS}
        for m in ("2025-02", "2025-03", "2025-04"):
            expected[m] = [JUAN]
        _every_order(registry, deliveries, lambda e=expected: _assert_equal(_who(registry), e))


def test_items_interleaved_across_two_change_sets(registry: Engine) -> None:
    deliveries = [
        _cs(
            "x",
            "2025-06-01",
            item("R1", "ALTA", "2025-01-31", curp=JUAN),
            item("R2", "BAJA", "2025-05-01", curp=ANA, nombre="Ana", program=None),
        ),
        _cs(
            "y",
            "2025-05-01",
            item("R2", "ALTA", "2025-02-28", curp=ANA, nombre="Ana", geo=THERE),
            item("R1", "BAJA", "2025-03-01", curp=JUAN, program=None),
        ),
        # a change set holds each reference once: payments travel in change sets of their own
        _cs("p", "2025-02-01", item("R1", "PAGO", "2025-02-01", curp=JUAN, monto="10", geo=None)),
        _cs(
            "q",
            "2025-03-05",
            item("R2", "PAGO", "2025-03-05", curp=ANA, nombre="Ana", monto="20", geo=None),
        ),
    ]
    expected = {m: [] for m in MONTHS}
    expected.update({"2025-01": [JUAN], "2025-02": [ANA, JUAN], "2025-03": [ANA]})
    expected["2025-04"] = [ANA]

    def check() -> None:
        _assert_equal(_who(registry), expected)
        assert _paid(registry, "070890001") == [("2025-02-01", "10.00", "070890001")]
        assert _paid(registry, "070890002") == [("2025-03-05", "20.00", "070890002")]

    _every_order(registry, deliveries, check)


def test_first_and_last_day_of_a_month_and_a_quiet_month(registry: Engine) -> None:
    deliveries = [
        _cs("a", "2025-01-31", item("R1", "ALTA", "2025-01-31", curp=JUAN)),  # last day
        _cs("b", "2025-06-01", item("R1", "BAJA", "2025-06-01", curp=JUAN, program=None)),
        _cs("c", "2025-03-01", item("R2", "ALTA", "2025-03-01", curp=ANA, nombre="Ana")),
        _cs(
            "d",
            "2025-03-31",
            item("R2", "BAJA", "2025-03-31", curp=ANA, nombre="Ana", program=None),
        ),
    ]
    expected = {m: [] for m in MONTHS}
    # JUAN from 31 Jan until 31 May (the BAJA of 1 June ends it); Feb, Apr, May have no items
    for m in ("2025-01", "2025-02", "2025-04", "2025-05"):
        expected[m] = [JUAN]
    expected["2025-03"] = [ANA, JUAN]  # ANA from 1 to 30 March
    _every_order(registry, deliveries, lambda: _assert_equal(_who(registry), expected))


def test_year_boundaries(registry: Engine) -> None:
    deliveries = [
        _cs(
            "a",
            "2024-12-31",
            item("R1", "ALTA", "2024-12-31", curp=JUAN),
            item("R2", "ALTA", "2024-12-01", curp=ANA, nombre="Ana"),
        ),
        _cs(
            "b",
            "2025-01-01",
            item("R2", "BAJA", "2025-01-01", curp=ANA, nombre="Ana", program=None),
        ),
        _cs(
            "p",
            "2025-01-02",
            item("R1", "PAGO", "2024-12-31", curp=JUAN, monto="1"),
            item("R2", "PAGO", "2025-01-01", curp=ANA, nombre="Ana", monto="2"),
        ),
        # effective in January, paid for the 31 December: the payment date decides the year
        _cs(
            "q",
            "2025-01-03",
            item("R1", "PAGO", "2025-01-03", curp=JUAN, monto="4", fecha_beneficio="2024-12-31"),
        ),
    ]

    def check() -> None:
        assert _who(registry, ["2024-11", "2024-12", "2025-01"]) == {
            "2024-11": [],
            "2024-12": [ANA, JUAN],
            "2025-01": [JUAN],
        }
        assert [r[1] for r in _paid(registry, "07", 2024)] == ["1.00", "4.00"]
        assert [r[1] for r in _paid(registry, "07", 2025)] == ["2.00"]
        assert paid_in(registry, PROGRAM, "07", 2024).total == Decimal("5.00")

    _every_order(registry, deliveries, check, twice=False)


def test_sent_at_time_zones_do_not_move_effective_dates(registry: Engine) -> None:
    cdmx = dt.timezone(dt.timedelta(hours=-6))
    # sent late on 31 January in Mexico City: 1 February in UTC. The effective date decides.
    alta = header("a", sent_at=dt.datetime(2025, 1, 31, 23, 30, tzinfo=cdmx))
    # same effective date: the later send (in UTC) is the newer state, whatever its offset
    baja = header("b", sent_at=dt.datetime(2025, 2, 1, 5, 0, tzinfo=dt.UTC))  # 23:00 CDMX 31 Jan
    items_a = [item("R1", "ALTA", "2025-01-31")]
    items_b = [item("R1", "BAJA", "2025-01-31", program=None)]
    for order in ((alta, items_a), (baja, items_b)), ((baja, items_b), (alta, items_a)):
        clear(registry)
        writer = RegistryWriter(registry)
        for head, items in order:
            writer.apply(head, items)
        # ALTA sent 05:30 UTC, BAJA 05:00 UTC: the ALTA is newer; enrolled from 31 January on
        assert _who(registry, ["2025-01", "2025-02"]) == {"2025-01": [JUAN], "2025-02": [JUAN]}


def test_one_curp_in_two_agreements_is_one_person(registry: Engine) -> None:
    other = "CONV-OTRA-07"
    writer = RegistryWriter(registry)
    writer.apply(header("a"), [item("R1", "ALTA", "2025-01-10", curp=JUAN)])
    writer.apply(
        header("a", agreement=other), [item("X9", "ALTA", "2025-02-10", curp=JUAN, geo=FAR)]
    )
    writer.apply(header("b"), [item("R1", "BAJA", "2025-03-01", curp=JUAN, program=None)])
    writer.apply(
        header("p", agreement=other), [item("X9", "PAGO", "2025-04-01", curp=JUAN, geo=None)]
    )
    writer.apply(header("p"), [item("R1", "PAGO", "2025-02-01", curp=JUAN, geo=None)])
    assert _who(registry, ["2025-01", "2025-02", "2025-03"]) == {
        "2025-01": [JUAN],
        "2025-02": [JUAN],  # twice enrolled, listed once
        "2025-03": [JUAN],  # out of one agreement, still in the other
    }
    assert _paid(registry, "07") == [
        ("2025-02-01", "1500.00", "070890001"),
        ("2025-04-01", "1500.00", "071010001"),
    ]


def test_payment_duplicates_in_one_and_two_change_sets(registry: Engine) -> None:
    writer = RegistryWriter(registry)
    pago = item("R1", "PAGO", "2025-02-01", monto="100")
    first = writer.apply(header("p"), [pago, pago])  # the same key twice in one change set
    assert (first.applied, first.duplicates) == (1, 1)
    again = writer.apply(header("p"), [pago])  # the change set delivered again
    assert (again.applied, again.duplicates) == (0, 1)
    assert paid_in(registry, PROGRAM, "070890001", 2025).total == Decimal("100.00")


def test_a_payment_for_a_record_never_given_alta(registry: Engine) -> None:
    writer = RegistryWriter(registry)
    writer.apply(header("p"), [item("R1", "PAGO", "2025-02-01", monto="50")])
    assert _paid(registry, "070890001") == [("2025-02-01", "50.00", "070890001")]
    assert _who(registry, ["2025-02"]) == {"2025-02": []}  # paid, never enrolled
    writer.apply(header("q"), [item("R1", "PAGO", "2025-03-01", monto="60", geo=None)])
    assert [r[2] for r in _paid(registry, "07")] == ["070890001", "070890001"]


def _assert_equal(got: object, expected: object) -> None:
    assert got == expected


def test_a_payment_without_geography_counts_where_the_record_lived_that_day(
    registry: Engine,
) -> None:
    deliveries = [
        _cs("a", "2025-01-10", item("R1", "ALTA", "2025-01-10", geo=HERE)),
        # moves on 15 March (a CAMBIO naming only the new address), and again next year
        _cs("m", "2025-03-16", item("R1", "CAMBIO", "2025-03-15", program=None, geo=THERE)),
        _cs("n", "2026-02-01", item("R1", "CAMBIO", "2026-02-01", program=None, geo=FAR)),
        _cs("p", "2025-03-14", item("R1", "PAGO", "2025-03-14", monto="1", geo=None)),
        _cs("q", "2025-03-15", item("R1", "PAGO", "2025-03-15", monto="2", geo=None)),
        _cs("r", "2026-03-01", item("R1", "PAGO", "2026-03-01", monto="4", geo=None)),
        # paid before the ALTA's date: the first address known
        _cs("s", "2025-01-05", item("R1", "PAGO", "2025-01-05", monto="8", geo=None)),
    ]

    def check() -> None:
        assert _paid(registry, "070890001") == [
            ("2025-01-05", "8.00", "070890001"),
            ("2025-03-14", "1.00", "070890001"),
        ]
        assert _paid(registry, "070890002") == [("2025-03-15", "2.00", "070890002")]
        assert _paid(registry, "07101", 2025) == []
        assert _paid(registry, "07101", 2026) == [("2026-03-01", "4.00", "071010001")]

    for order in (deliveries, deliveries[::-1]):  # 7! orders is too many: both directions
        clear(registry)
        writer = RegistryWriter(registry)
        for head, items in order:
            writer.apply(head, items)
            assert writer.apply(head, items).applied == 0
        check()


def test_a_year_outside_the_calendar_is_a_clear_error(registry: Engine) -> None:
    for year in (0, 9999, -1):
        with pytest.raises(RegistryQueryError, match="año inválido"):
            paid_in(registry, PROGRAM, "07", year)


def test_a_reference_reused_for_another_person_keeps_the_first_ones_past(
    registry: Engine,
) -> None:
    # a folio is one person's: a newer ALTA for someone else on it is refused (see
    # hub.registry.linking), so the first person keeps the past and the other gets nothing yet
    writer = RegistryWriter(registry)
    writer.apply(header("a"), [item("R1", "ALTA", "2025-01-10", curp=JUAN)])
    writer.apply(header("p"), [item("R1", "PAGO", "2025-02-01", curp=JUAN, monto="10")])
    writer.apply(header("b"), [item("R1", "BAJA", "2025-03-01", curp=JUAN, program=None)])
    # the agency gives the same folio to someone else in June
    result = writer.apply(
        header("c"),
        [item("R1", "ALTA", "2025-06-01", curp=ANA, nombre="Ana", primer_apellido="López")],
    )
    assert result.applied == 0
    [refused] = result.rejected
    assert refused.reference_id == "R1" and "use otra referencia" in refused.reason
    assert _who(registry, ["2025-02", "2025-07"]) == {"2025-02": [JUAN], "2025-07": []}
    assert [r.curp for r in paid_in(registry, PROGRAM, "07", 2025).rows] == [JUAN]
    # with a folio of its own, the second person is enrolled
    writer.apply(
        header("d"),
        [item("R2", "ALTA", "2025-06-01", curp=ANA, nombre="Ana", primer_apellido="López")],
    )
    assert _who(registry, ["2025-02", "2025-07"]) == {"2025-02": [JUAN], "2025-07": [ANA]}


def test_the_same_payment_in_two_deliveries_is_counted_twice_and_flagged(
    registry: Engine,
) -> None:
    # idempotency is per (agreement, message, reference): an agency that sends a payment again
    # in a new delivery (its producer state lost, say) pays it twice in the registry. paid_in
    # cannot tell that from two real payments, so it counts both and flags them for the operator
    writer = RegistryWriter(registry)
    pago = item("R1", "PAGO", "2025-02-01", monto="100")
    writer.apply(header("m1", transaction="tx-1"), [pago])
    writer.apply(header("m9", transaction="tx-2"), [pago])
    writer.apply(header("m3", transaction="tx-3"), [item("R1", "PAGO", "2025-03-01", monto="100")])
    report = paid_in(registry, PROGRAM, "07", 2025)
    assert (len(report.rows), report.total) == (3, Decimal("300.00"))
    assert report.repeated == 1  # one payment more than once (same row, date, type and amount)
