"""``recent`` deliveries (what ``sisi up --demo`` sends): new facts dated within the agreement's
maximum lag before the day they are sent, payments in one month, payment dates stable per day."""

from __future__ import annotations

import datetime as dt
from datetime import date, timedelta

import pytest

from hub.agreements import load_agreements
from hub.settings import REPO_ROOT
from producers.synth.padron import generate_padron, recent_days

PADRONES = (
    "CONV-BIENESTAR-PAM-2026",
    "CONV-CNBBBJ-BUEMS-2026",
    "CONV-EDOMEX-MCB-2026",
    "CONV-LEON-JEFAS-2026",
)


@pytest.fixture(scope="module")
def agreements():
    return load_agreements(REPO_ROOT / "agreements")


def _rows(agreement, delivery: int, today: date) -> dict[str, dict[str, object]]:
    return {
        str(r.values["reference_id"]): dict(r.values)
        for r in generate_padron(agreement, 300, 7, delivery, today=today, recent=True)
    }


def _lag_hours(effective: object, sent_at: dt.datetime) -> float:
    """Sending time minus the start (UTC) of the effective date: compliance measures from the
    hub's arrival and 00:00 central Mexico time (six hours later), inside the two days kept."""
    assert isinstance(effective, date)
    start = dt.datetime(effective.year, effective.month, effective.day, tzinfo=dt.UTC)
    return (sent_at - start).total_seconds() / 3600


@pytest.mark.parametrize("agreement_id", PADRONES)
@pytest.mark.parametrize("today", [date(2026, 11, 24), date(2026, 12, 1), date(2027, 1, 2)])
def test_new_altas_and_payments_are_within_the_agreements_maximum_lag(
    agreements, agreement_id: str, today: date
) -> None:
    agreement = agreements.get(agreement_id)
    limit = agreement.delivery.max_lag_hours
    before, now = _rows(agreement, 2, today), _rows(agreement, 3, today)
    new = [row for ref, row in now.items() if ref not in before]
    assert len(new) > 5  # the delivery's altas
    # sent at the last second of the day, and a file written then but sent after midnight
    for sent_at in (
        dt.datetime.combine(today, dt.time(23, 59, 59), tzinfo=dt.UTC),
        dt.datetime.combine(today + timedelta(days=1), dt.time(0, 30), tzinfo=dt.UTC),
    ):
        assert max(_lag_hours(row["effective_date"], sent_at) for row in new) <= limit
        assert max(_lag_hours(row["fecha_beneficio"], sent_at) for row in now.values()) <= limit
    paid = {row["fecha_beneficio"] for row in now.values()}
    assert all(isinstance(d, date) and d < today for d in paid)  # never today nor later
    # every payment of the delivery is in one month: the month of yesterday
    yesterday = today - timedelta(days=1)
    assert {(d.year, d.month) for d in paid} == {(yesterday.year, yesterday.month)}  # type: ignore[union-attr]
    assert recent_days(agreement) <= limit // 24


def test_a_rows_payment_date_is_the_same_in_every_delivery_of_the_day(agreements) -> None:
    agreement = agreements.get("CONV-BIENESTAR-PAM-2026")
    today = date(2026, 11, 24)
    second, third = _rows(agreement, 2, today), _rows(agreement, 3, today)
    common = second.keys() & third.keys()
    assert len(common) > 0.9 * len(second)
    moved = [k for k in common if second[k]["fecha_beneficio"] != third[k]["fecha_beneficio"]]
    assert moved == []


def test_the_default_calendar_still_counts_periods_from_the_agreements_start(agreements) -> None:
    agreement = agreements.get("CONV-BIENESTAR-PAM-2026")  # bimestral from 2026-01-01
    rows = generate_padron(agreement, 100, 7, delivery=2, today=date(2026, 11, 24))
    months = {r.values["fecha_beneficio"].month for r in rows}  # type: ignore[union-attr]
    assert months <= {3, 4}
