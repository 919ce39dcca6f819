"""When a periodic agreement's next delivery is due, and whether it is overdue (pure).

An agreement with ``delivery.mode: periodica`` promises a delivery every ``period`` (mensual,
bimestral, trimestral, semestral). Its next one is due one period after the last delivery (the
hub's clock), plus the agreement's ``max_lag_hours`` of grace; before the first delivery, one
period after the agreement came into force (00:00 central Mexico time of ``valid_from``). A
streaming agreement promises no cadence, and one not in force owes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from hub.agreements.model import KEY_DATE_ZONE, Agreement
from hub.compliance.counting import measured

__all__ = ["PERIOD_DAYS", "delivery_due", "overdue"]

#: The longest a period lasts, in days (a bimestre of July and August has 62).
PERIOD_DAYS: Final = {"mensual": 31, "bimestral": 62, "trimestral": 92, "semestral": 184}


def delivery_due(agreement: Agreement, last_delivery_at: dt.datetime | None) -> dt.datetime | None:
    """The latest moment the agreement's next delivery may arrive (None: no cadence)."""
    period = agreement.delivery.period
    if agreement.delivery.mode != "periodica" or period is None:
        return None
    start = last_delivery_at or dt.datetime.combine(
        agreement.valid_from, dt.time.min, KEY_DATE_ZONE
    )
    grace = dt.timedelta(days=PERIOD_DAYS[period], hours=agreement.delivery.max_lag_hours)
    return start + grace


def overdue(
    agreement: Agreement, last_delivery_at: dt.datetime | None, now: dt.datetime
) -> bool | None:
    """Whether the next delivery is late at ``now`` (None: no cadence, not in force, or an
    agreement whose deliveries the hub does not read)."""
    if not measured(agreement) or not agreement.in_force(now.astimezone(KEY_DATE_ZONE).date()):
        return None
    due = delivery_due(agreement, last_delivery_at)
    return None if due is None else now > due
