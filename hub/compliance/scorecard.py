"""Public compliance scorecards (``mx.gob.sisi.publico.ComplianceScorecard``): counts, no people.

One card per agreement and month. ``deliveries`` counts the month's transactions with an accepted
item; ``last_delivery_at`` is the last change set with an accepted item of any month (a new month
does not make an agreement look as if it never delivered); ``on_time_measured`` is null when the
month had nothing to measure (no delivery, or only the initial load), and ``on_time`` (version 1's
boolean) is true only when it is true.
"""

from __future__ import annotations

import datetime as dt
import statistics
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.engine import Engine

from hub.agreements.loader import AgreementSet
from hub.compliance.counting import period_of
from hub.compliance.store import AgreementCompliance, read_compliance
from hub.gatekeeper.ledger import processed_messages

__all__ = ["SCORECARD_SUBJECT", "build_scorecards"]

SCORECARD_SUBJECT: Final = "mx.gob.sisi.publico.ComplianceScorecard"
_LATENCY_SAMPLE = 2000


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _median_latency_ms(engine: Engine, agreement_id: str, since: dt.datetime) -> int | None:
    c = processed_messages.c
    query = (
        select(c.sent_at, c.processed_at)
        .where(c.agreement_id == agreement_id, c.processed_at >= since, c.sent_at.is_not(None))
        .order_by(c.id.desc())
        .limit(_LATENCY_SAMPLE)
    )
    with engine.connect() as conn:
        samples = [
            (_aware(done) - _aware(sent)).total_seconds() * 1000
            for sent, done in conn.execute(query)
        ]
    return int(statistics.median(samples)) if samples else None


def build_scorecards(
    engine: Engine, agreements: AgreementSet, *, now: dt.datetime
) -> list[dict[str, Any]]:
    """One scorecard per agreement for the current month (agreements without data included)."""
    period = period_of(now)
    ids = [agreement.id for agreement in agreements]
    rows = {row.agreement_id: row for row in read_compliance(engine, period=period)}
    ever = {row.agreement_id: row for row in read_compliance(engine, agreement_ids=ids)}
    since = dt.datetime(now.year, now.month, 1, tzinfo=dt.UTC)
    cards: list[dict[str, Any]] = []
    for agreement in sorted(agreements, key=lambda a: a.id):
        row = rows.get(agreement.id) or AgreementCompliance(agreement.id)
        c = row.counters
        measured = c["late_items"] > 0 or row.last_lag_seconds is not None
        on_time = c["late_items"] == 0 if measured else None
        cards.append(
            {
                "agreement_id": agreement.id,
                "dependencia": agreement.parties.agency.name,
                "period": period,
                "deliveries": row.deliveries,
                "items_received": c["items_received"],
                "items_accepted": c["items_accepted"],
                "items_rejected": c["items_rejected"],
                "acceptance_rate": row.acceptance_rate,
                "median_receipt_latency_ms": _median_latency_ms(engine, agreement.id, since),
                "last_delivery_at": ever[agreement.id].last_delivery_at,
                "on_time": on_time is True,
                "on_time_measured": on_time,
                "rejection_reasons": dict(sorted(row.item_rejections.items())),
                "computed_at": now,
            }
        )
    return cards
