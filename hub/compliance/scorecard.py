"""Public compliance scorecards (``mx.gob.sisi.publico.ComplianceScorecard``): counts, no people.

One card per agreement and month, with the same figures ``sisi compliance --period AAAA-MM
--json`` shows for that month (both come from :func:`read_compliance`). ``deliveries`` counts the
month's transactions with an accepted item; ``last_delivery_at`` is the last change set with an
accepted item of any month (a new month does not make an agreement look as if it never
delivered); ``on_time_measured`` is null when the month had nothing to measure (no delivery, or
only the initial load), and ``on_time`` (version 1's boolean) is true only when it is true: both
are :attr:`AgreementCompliance.on_time` (no late item in the month), the verdict ``sisi
compliance`` shows (``a tiempo``) and puts in its ``--json`` under the same names. The lag
is the hub's (arrival at the hub minus effective date): the agency's ``sent_at`` only feeds
``median_receipt_latency_ms`` and the clock-ahead counts.
"""

from __future__ import annotations

import datetime as dt
import statistics
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.engine import Engine

from hub.agreements.loader import AgreementSet
from hub.agreements.model import KEY_DATE_ZONE, Agreement
from hub.compliance.counting import CLOCK_TOLERANCE_SECONDS, measured, period_of
from hub.compliance.store import AgreementCompliance, read_compliance
from hub.gatekeeper.ledger import processed_messages

__all__ = ["SCORECARD_SUBJECT", "build_scorecards", "scorecard"]

SCORECARD_SUBJECT: Final = "mx.gob.sisi.publico.ComplianceScorecard"
_LATENCY_SAMPLE = 2000


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _median_latency_ms(engine: Engine, agreement_id: str, since: dt.datetime) -> int | None:
    """Median of processed_at minus the declared ``sent_at`` of the month's last messages; a
    ``sent_at`` ahead of the hub's clock says nothing of the service and is left out."""
    c = processed_messages.c
    query = (
        select(c.sent_at, c.processed_at)
        .where(c.agreement_id == agreement_id, c.processed_at >= since, c.sent_at.is_not(None))
        .order_by(c.id.desc())
        .limit(_LATENCY_SAMPLE)
    )
    with engine.connect() as conn:
        waits = [
            (_aware(done) - _aware(sent)).total_seconds() for sent, done in conn.execute(query)
        ]
    samples = [max(0.0, wait) * 1000 for wait in waits if -wait <= CLOCK_TOLERANCE_SECONDS]
    return int(statistics.median(samples)) if samples else None


def scorecard(
    row: AgreementCompliance,
    agreement: Agreement,
    *,
    period: str,
    last_delivery_at: dt.datetime | None,
    median_latency_ms: int | None,
    now: dt.datetime,
) -> dict[str, Any]:
    """The card of ``agreement`` for ``period`` from its figures of that period (``row``)."""
    c = row.counters
    on_time = row.on_time
    return {
        "agreement_id": agreement.id,
        "dependencia": agreement.parties.agency.name,
        "period": period,
        "deliveries": row.deliveries,
        "items_received": c["items_received"],
        "items_accepted": c["items_accepted"],
        "items_rejected": c["items_rejected"],
        "acceptance_rate": row.acceptance_rate,
        "median_receipt_latency_ms": median_latency_ms,
        "last_delivery_at": last_delivery_at,
        "on_time": on_time is True,
        "on_time_measured": on_time,
        "rejection_reasons": dict(sorted(row.item_rejections.items())),
        "max_lag_hours": agreement.delivery.max_lag_hours,
        "lag_seconds": row.last_lag_seconds,
        "late_items": c["late_items"],
        "initial_items": c["initial_items"],
        "curp_validity": row.curp_validity,
        "completeness": row.completeness,
        "duplicate_ratio": row.duplicate_ratio,
        "refused_messages": dict(sorted(row.message_rejections.items())),
        "clock_ahead_messages": row.clock_ahead_messages,
        "clock_ahead_max_seconds": row.clock_ahead_max_seconds,
        "in_force": agreement.in_force(now.astimezone(KEY_DATE_ZONE).date()),
        "computed_at": now,
    }


def build_scorecards(
    engine: Engine, agreements: AgreementSet, *, now: dt.datetime
) -> list[dict[str, Any]]:
    """One scorecard per loaded padrón agreement for the current month (those without data
    included; encuesta agreements have none: the hub does not read their topics yet)."""
    period = period_of(now)
    cards_for = sorted((a for a in agreements if measured(a)), key=lambda a: a.id)
    ids = [agreement.id for agreement in cards_for]
    rows = {row.agreement_id: row for row in read_compliance(engine, period=period)}
    ever = {row.agreement_id: row for row in read_compliance(engine, agreement_ids=ids)}
    since = dt.datetime(now.year, now.month, 1, tzinfo=dt.UTC)
    return [
        scorecard(
            rows.get(agreement.id) or AgreementCompliance(agreement.id),
            agreement,
            period=period,
            last_delivery_at=ever[agreement.id].last_delivery_at,
            median_latency_ms=_median_latency_ms(engine, agreement.id, since),
            now=now,
        )
        for agreement in cards_for
    ]
