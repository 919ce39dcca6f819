"""What one processed message adds to its agreement's compliance counters (pure).

Units: ``messages`` counts every message read (refused ones and replays included); items are
counted when the body was authenticated and read. Rejections are counted per item
(``item_rejections``) and, for refused change sets, per message (``message_rejections``) too.
A message that names no known agreement counts under :data:`UNKNOWN_AGREEMENT`.

Lag is measured per item as ``sent_at`` minus the start of its ``effective_date`` (the agreement's
``delivery.max_lag_hours`` bounds the hours between the fact and its sending); an item beyond that
bound is *late*. Except in the agreement's **initial load** (its first delivery, which brings the
padrón's history: enrollments and payments from before the agreement, late by nature): those
items are counted as ``initial_items`` and neither their lag nor lateness is measured
(:func:`as_initial_load`; the pipeline decides which delivery is the first).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Final

from hub.gatekeeper.reasons import MENSAJE_REPETIDO
from hub.gatekeeper.verdict import Verdict

__all__ = ["UNKNOWN_AGREEMENT", "Tally", "as_initial_load", "period_of", "tally"]

#: Label of messages that name no agreement the hub knows.
UNKNOWN_AGREEMENT: Final = "desconocido"


def period_of(moment: dt.datetime) -> str:
    """``AAAA-MM`` of ``moment`` in UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return f"{moment.year:04d}-{moment.month:02d}"


@dataclass(frozen=True)
class Tally:
    """Increments for one agreement and period."""

    agreement_id: str
    period: str
    counters: Mapping[str, int]
    item_rejections: Mapping[str, int] = field(default_factory=dict)
    message_rejections: Mapping[str, int] = field(default_factory=dict)
    transaction_id: str | None = None
    last_lag_seconds: float | None = None  # None: not measured (the stored value stays)
    delivered_at: dt.datetime | None = None


def tally(
    verdict: Verdict, *, now: dt.datetime, sla_seconds: float | None, replay: bool = False
) -> Tally:
    """The counters ``verdict`` adds (``replay``: the message repeats an earlier one)."""
    agreement_id = verdict.agreement.id if verdict.agreement else UNKNOWN_AGREEMENT
    period = period_of(now)
    if replay:
        return Tally(
            agreement_id,
            period,
            {"messages": 1, "replays": 1, "replayed_items": verdict.item_count},
            message_rejections={MENSAJE_REPETIDO: 1},
        )
    refusal = verdict.refusal
    if refusal is not None:
        counters = {"messages": 1}
        item_rejections: dict[str, int] = {}
        if verdict.authenticated and verdict.item_count:
            counters["items_received"] = counters["items_rejected"] = verdict.item_count
            item_rejections[refusal.code] = verdict.item_count
        return Tally(
            agreement_id,
            period,
            counters,
            item_rejections=item_rejections,
            message_rejections={refusal.code: 1},
            transaction_id=verdict.transaction_id or None if verdict.authenticated else None,
        )
    quality = verdict.quality
    late = 0
    worst = 0.0
    for q in quality:
        worst = max(worst, q.lag_seconds)
        if sla_seconds is not None and q.lag_seconds > sla_seconds:
            late += 1
    counters = {
        "messages": 1,
        "items_received": verdict.item_count,
        "items_accepted": len(verdict.accepted),
        "items_rejected": len(verdict.rejected),
        "curp_present": sum(1 for q in quality if q.curp != "absent"),
        "curp_valid": sum(1 for q in quality if q.curp == "valid"),
        "required_expected": sum(q.required_expected for q in quality),
        "required_present": sum(q.required_present for q in quality),
        "duplicates": sum(1 for q in quality if q.duplicate),
        "late_items": late,
    }
    return Tally(
        agreement_id,
        period,
        counters,
        item_rejections=dict(Counter(item.code for item in verdict.rejected)),
        transaction_id=verdict.transaction_id or None,
        last_lag_seconds=worst,
        delivered_at=now,
    )


def as_initial_load(counts: Tally) -> Tally:
    """``counts`` of a message of the agreement's initial load: its items received count as
    ``initial_items``, none is late, and its lag is not measured."""
    received = counts.counters.get("items_received", 0)
    if not received or counts.delivered_at is None:
        return counts  # a refusal or a replay: no lag was measured
    counters = {**counts.counters, "late_items": 0, "initial_items": received}
    return replace(counts, counters=counters, last_lag_seconds=None)
