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
  :data:`UNKNOWN_AGREEMENT`), apart from the agreement's own figures; CONVENIO_DADO_DE_BAJA under
  the removed agreement's id (one the audit log knows, never any string a sender writes).

**Lag** is measured per *accepted* item as the hub's clock when it processed the message minus
the start of the item's ``effective_date`` (00:00 in central Mexico time, UTC-06:00, the
convention of the agreements' dates); the agreement's ``delivery.max_lag_hours`` bounds the hours
between the fact and its arrival at the hub, and an item beyond that bound is *late*. The header's
``sent_at`` is the agency's own word: backdating it must not make a delivery look timely, so it is
not used for the lag (neither are Kafka timestamps: Tansu keeps the producer's CreateTime). The
hub's clock includes the time a message waited in the broker while the hub was stopped or behind;
that shows as every agreement late at once, never as an agency looking better than it was.
Rejected items are not measured: one refused and sent again corrected is measured when accepted.
The worst lag is kept per delivery (``transaction_id``: all its chunks) with its accepted change
sets, so the first delivery, the last one and its lag can be told apart.

``sent_at`` is still checked against the hub's clock: a header more than
:data:`CLOCK_TOLERANCE_SECONDS` ahead of it (an agency clock in the future, a wrong time zone) is
counted (``clock_ahead_seconds``) for the operator, once per authenticated message read for the
first time.

A *delivery* is a transaction with at least one accepted item; the agreement's **initial load**
is its first delivery (a transaction refused as a whole, e.g. before the agreement was in force,
is none). It brings the padrón's history (enrollments and payments from before the agreement,
late by nature): its items are counted as ``initial_items`` and neither their lag nor lateness
is measured (:func:`as_initial_load`; the pipeline decides which delivery is the first).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Final

from hub.agreements.model import KEY_DATE_ZONE, Agreement
from hub.gatekeeper.reasons import CONVENIO_DADO_DE_BAJA
from hub.gatekeeper.verdict import Verdict
from hub.registry.items import ChangeItem

__all__ = [
    "CLOCK_TOLERANCE_SECONDS",
    "UNKNOWN_AGREEMENT",
    "Tally",
    "as_initial_load",
    "clock_ahead",
    "measured",
    "period_of",
    "reception_lags",
    "tally",
]

#: Label of messages that name no agreement the hub knows.
UNKNOWN_AGREEMENT: Final = "desconocido"
#: How far a header's ``sent_at`` may be ahead of the hub's clock before it is reported (clocks
#: of two machines kept by NTP differ by far less; five minutes leaves room for a sloppy one).
CLOCK_TOLERANCE_SECONDS: Final = 300.0


def measured(agreement: Agreement) -> bool:
    """Whether the hub reads the agreement's deliveries: its padrón change sets. Survey
    (encuesta) topics are not consumed yet, so an encuesta agreement has no figures, and zeros
    would blame its agency for what the hub does not do."""
    return agreement.kind == "padron"


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
    #: how far ``sent_at`` was ahead of the hub's clock, when beyond the tolerance; else None
    clock_ahead_seconds: float | None = None

    @property
    def accepted(self) -> bool:
        """Whether the change set had at least one accepted item (it makes a delivery)."""
        return self.counters.get("items_accepted", 0) > 0


def clock_ahead(sent_at: dt.datetime | None, now: dt.datetime) -> float | None:
    """Seconds ``sent_at`` is ahead of the hub's ``now``, when beyond the tolerance; else None."""
    if sent_at is None:
        return None
    if sent_at.tzinfo is None:
        sent_at = sent_at.replace(tzinfo=dt.UTC)
    ahead = (sent_at - now).total_seconds()
    return ahead if ahead > CLOCK_TOLERANCE_SECONDS else None


def reception_lags(items: Iterable[ChangeItem], now: dt.datetime) -> list[float]:
    """Each item's lag: ``now`` (the hub's clock) minus the start of its effective date, in
    central Mexico time; 0 for a date still to come, and no entry for an item without one."""
    by_date: dict[dt.date, float] = {}  # a delivery repeats a few dates
    lags: list[float] = []
    for item in items:
        effective = item.get("effective_date")
        if not isinstance(effective, dt.date):
            continue
        lag = by_date.get(effective)
        if lag is None:
            start = dt.datetime.combine(effective, dt.time.min, KEY_DATE_ZONE)
            lag = by_date[effective] = max(0.0, (now - start).total_seconds())
        lags.append(lag)
    return lags


def tally(
    verdict: Verdict, *, now: dt.datetime, sla_seconds: float | None, replay: bool = False
) -> Tally:
    """The counters ``verdict`` adds (``replay``: the message repeats an earlier one); ``now`` is
    the hub's clock when it processed the message."""
    agreement_id = verdict.agreement.id if verdict.agreement else UNKNOWN_AGREEMENT
    period = period_of(now)
    if replay:
        # hub-side only: neither the agency's messages, nor its rejections, nor its quality
        return Tally(agreement_id, period, {"replays": 1, "replayed_items": verdict.item_count})
    refusal = verdict.refusal
    if refusal is not None and not verdict.authenticated:
        if refusal.code == CONVENIO_DADO_DE_BAJA and verdict.agreement_id:
            # the id is one the audit log knows as removed (not any string a sender writes)
            agreement_id = verdict.agreement_id
        return Tally(agreement_id, period, {}, unverified_rejections={refusal.code: 1})
    header = verdict.header
    ahead = clock_ahead(header["sent_at"] if header is not None else None, now)
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
            clock_ahead_seconds=ahead,
        )
    quality = verdict.quality
    lags = reception_lags(verdict.accepted, now)
    late = 0
    if sla_seconds is not None:
        late = sum(1 for lag in lags if lag > sla_seconds)
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
        last_lag_seconds=max(lags) if lags else None,
        delivered_at=now if verdict.accepted else None,
        clock_ahead_seconds=ahead,
    )


def as_initial_load(counts: Tally) -> Tally:
    """``counts`` of a message of the agreement's initial load: its items received count as
    ``initial_items``, none is late, and its lag is not measured."""
    received = counts.counters.get("items_received", 0)
    if not received or counts.message_rejections:
        return counts  # a replay (no items of its own) or a change set refused as a whole
    counters = {**counts.counters, "late_items": 0, "initial_items": received}
    return replace(counts, counters=counters, last_lag_seconds=None)
