"""What one processed message adds to its agreement's compliance counters (pure).

Units: ``messages`` counts the agreement's authenticated messages read for the first time
(refused ones included); items are counted when the body was authenticated and read. Rejections
are counted per item (``item_rejections``) and, for refused change sets, per message
(``message_rejections``) too.

Two kinds of messages never count against the agency (invariant 2: replays change nothing; and
nobody can spoil an agency's figures by writing to its topic):

- a **replay** (the same authenticated message again: an outbox resend, bytes copied onto the
  topic) adds only to the hub-side ``replays`` and ``replayed_items``;
- a refusal **before authentication** (FIRMA_INVALIDA, TOPICO_INCORRECTO, CONVENIO_DESCONOCIDO)
  counts in ``unverified_rejections`` under the agreement its header *claims* (or
  :data:`UNKNOWN_AGREEMENT`), apart from the agreement's own figures.

Lag is measured per item as ``sent_at`` minus the start of its ``effective_date`` (the agreement's
``delivery.max_lag_hours`` bounds the hours between the fact and its sending); an item beyond that
bound is *late*. The worst lag is kept per delivery (``transaction_id``: all its chunks) with
its accepted change sets, so the first delivery, the last one and its lag can be told apart.

A *delivery* is a transaction with at least one accepted item; the agreement's **initial load**
is its first delivery (a transaction refused as a whole, e.g. before the agreement was in force,
is none). It brings the padrón's history (enrollments and payments from before the agreement,
late by nature): its items are counted as ``initial_items`` and neither their lag nor lateness
is measured (:func:`as_initial_load`; the pipeline decides which delivery is the first).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Final

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
    #: refusals before authentication, under the agreement the header claims (not the agency's)
    unverified_rejections: Mapping[str, int] = field(default_factory=dict)
    transaction_id: str | None = None
    last_lag_seconds: float | None = None  # worst lag of the set; None: not measured
    delivered_at: dt.datetime | None = None  # set only when at least one item was accepted

    @property
    def accepted(self) -> bool:
        """Whether the change set had at least one accepted item (it makes a delivery)."""
        return self.counters.get("items_accepted", 0) > 0


def tally(
    verdict: Verdict, *, now: dt.datetime, sla_seconds: float | None, replay: bool = False
) -> Tally:
    """The counters ``verdict`` adds (``replay``: the message repeats an earlier one)."""
    agreement_id = verdict.agreement.id if verdict.agreement else UNKNOWN_AGREEMENT
    period = period_of(now)
    if replay:
        # hub-side only: neither the agency's messages, nor its rejections, nor its quality
        return Tally(agreement_id, period, {"replays": 1, "replayed_items": verdict.item_count})
    refusal = verdict.refusal
    if refusal is not None and not verdict.authenticated:
        return Tally(agreement_id, period, {}, unverified_rejections={refusal.code: 1})
    if refusal is not None:
        counters = {"messages": 1}
        item_rejections: dict[str, int] = {}
        if verdict.item_count:
            counters["items_received"] = counters["items_rejected"] = verdict.item_count
            item_rejections[refusal.code] = verdict.item_count
        return Tally(
            agreement_id,
            period,
            counters,
            item_rejections=item_rejections,
            message_rejections={refusal.code: 1},
            transaction_id=verdict.transaction_id or None,
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
        last_lag_seconds=worst if quality else None,
        delivered_at=now if verdict.accepted else None,
    )


def as_initial_load(counts: Tally) -> Tally:
    """``counts`` of a message of the agreement's initial load: its items received count as
    ``initial_items``, none is late, and its lag is not measured."""
    received = counts.counters.get("items_received", 0)
    if not received or counts.last_lag_seconds is None:
        return counts  # a refusal or a replay: no lag was measured
    counters = {**counts.counters, "late_items": 0, "initial_items": received}
    return replace(counts, counters=counters, last_lag_seconds=None)
