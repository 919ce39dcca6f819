"""Compliance in the database: add a tally inside the ledger's transaction, read the totals."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import Connection, case, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from hub.compliance.counting import Tally
from hub.compliance.tables import (
    COUNTER_COLUMNS,
    compliance_deliveries,
    compliance_rejections,
    compliance_totals,
)
from hub.db import advisory_xact_lock
from hub.gatekeeper.reasons import (
    CONVENIO_DESCONOCIDO,
    FIRMA_INVALIDA,
    MENSAJE_REPETIDO,
    SET_LEVEL_REASONS,
    TOPICO_INCORRECTO,
)

__all__ = [
    "CLOCK_AHEAD",
    "CLOCK_AHEAD_MAX",
    "RELOJ_ADELANTADO",
    "UNVERIFIED",
    "AgreementCompliance",
    "add_tally",
    "first_transaction",
    "lock_first_delivery",
    "read_compliance",
]


#: ``scope`` of refusals before authentication (not counted against the agreement they claim).
UNVERIFIED: Final = "unverified"
#: Refusal codes that are always before authentication (rows stored before 0006 used "message").
_UNVERIFIED_CODES = frozenset({CONVENIO_DESCONOCIDO, FIRMA_INVALIDA, TOPICO_INCORRECTO})
#: Code of the clock observations: a header's ``sent_at`` ahead of the hub's clock.
RELOJ_ADELANTADO: Final = "RELOJ_ADELANTADO"
#: ``scope`` of the count of messages whose ``sent_at`` was ahead of the hub's clock.
CLOCK_AHEAD: Final = "clock_ahead"
#: ``scope`` of the greatest advance seen (whole seconds, kept as the greatest, not added).
CLOCK_AHEAD_MAX: Final = "clock_ahead_max"


def _insert(conn: Connection, table: Any) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def add_tally(conn: Connection, tally: Tally, now: dt.datetime) -> None:
    """Add ``tally`` to the counters (call inside the transaction that writes the ledger row)."""
    key = {"agreement_id": tally.agreement_id, "period": tally.period}
    conn.execute(_insert(conn, compliance_totals).values(**key).on_conflict_do_nothing())
    t = compliance_totals.c
    values: dict[str, Any] = {
        name: t[name] + amount for name, amount in tally.counters.items() if amount
    }
    values["updated_at"] = now
    if tally.delivered_at is not None:  # a change set with an accepted item
        # the greatest: a worker whose batch started earlier may commit after another's
        at = literal(tally.delivered_at, compliance_totals.c.last_delivery_at.type)
        last = t.last_delivery_at
        values["last_delivery_at"] = case((last.is_(None), at), (last < at, at), else_=last)
    conn.execute(
        update(compliance_totals)
        .where(t.agreement_id == tally.agreement_id, t.period == tally.period)
        .values(**values)
    )
    scopes = (
        ("item", tally.item_rejections),
        ("message", tally.message_rejections),
        (UNVERIFIED, tally.unverified_rejections),
    )
    for scope, counts in scopes:
        for code, amount in counts.items():
            rkey = {**key, "reason_code": code, "scope": scope}
            conn.execute(
                _insert(conn, compliance_rejections).values(**rkey).on_conflict_do_nothing()
            )
            r = compliance_rejections.c
            conn.execute(
                update(compliance_rejections)
                .where(*(r[name] == value for name, value in rkey.items()))
                .values(count=r.count + amount)
            )
    if tally.clock_ahead_seconds is not None:
        _add_clock_ahead(conn, key, tally.clock_ahead_seconds)
    if tally.transaction_id:
        _add_to_transaction(conn, tally, now)


def _add_clock_ahead(conn: Connection, key: dict[str, str], seconds: float) -> None:
    """One more message with ``sent_at`` ahead of the hub's clock, and the greatest advance
    (kept in ``compliance_rejections`` under their own scopes: no new table, and written in
    the ledger's transaction like every count)."""
    r = compliance_rejections.c
    ahead = int(seconds)
    for scope, value in ((CLOCK_AHEAD, r.count + 1), (CLOCK_AHEAD_MAX, None)):
        rkey = {**key, "reason_code": RELOJ_ADELANTADO, "scope": scope}
        conn.execute(_insert(conn, compliance_rejections).values(**rkey).on_conflict_do_nothing())
        if value is None:
            value = case((r.count < ahead, ahead), else_=r.count)
        conn.execute(
            update(compliance_rejections)
            .where(*(r[name] == v for name, v in rkey.items()))
            .values(count=value)
        )


def _add_to_transaction(conn: Connection, tally: Tally, now: dt.datetime) -> None:
    """The transaction's row: first seen, accepted change sets, worst measured lag."""
    assert tally.transaction_id
    conn.execute(
        _insert(conn, compliance_deliveries)
        .values(
            agreement_id=tally.agreement_id,
            transaction_id=tally.transaction_id,
            first_seen_at=now,
        )
        .on_conflict_do_nothing()
    )
    d = compliance_deliveries.c
    values: dict[str, Any] = {}
    if tally.accepted:
        values["accepted_sets"] = d.accepted_sets + 1
    lag = tally.last_lag_seconds
    if lag is not None:  # not measured in an initial load nor in a refusal
        worst = d.worst_lag_seconds
        values["worst_lag_seconds"] = case((worst.is_(None), lag), (worst < lag, lag), else_=worst)
    if values:
        conn.execute(
            update(compliance_deliveries)
            .where(d.agreement_id == tally.agreement_id, d.transaction_id == tally.transaction_id)
            .values(**values)
        )


def first_transaction(conn: Connection, agreement_id: str) -> str | None:
    """The agreement's first delivery: the first transaction the hub saw with an accepted item
    (a transaction refused as a whole, e.g. before the agreement was in force, is none), or None
    before any."""
    d = compliance_deliveries.c
    query = (
        select(d.transaction_id)
        .where(d.agreement_id == agreement_id, d.accepted_sets > 0)
        .order_by(d.first_seen_at, d.transaction_id)
        .limit(1)
    )
    found: str | None = conn.execute(query).scalar()
    return found


def lock_first_delivery(conn: Connection, agreement_id: str) -> None:
    """PostgreSQL: serialize deciding the agreement's first delivery until ``conn`` commits
    (SQLite's write lock already does it)."""
    advisory_xact_lock(conn, f"primera-entrega:{agreement_id}")


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass
class AgreementCompliance:
    """Totals of one agreement (all periods, or one when read with ``period``).

    ``deliveries`` counts transactions with an accepted item; ``transactions`` all those seen
    (refused ones too). ``replays`` / ``replayed_items`` and ``unverified_rejections`` are the
    hub's: they are not part of the agency's figures (rates, duplicate ratio, rejections).
    ``last_lag_seconds`` is the worst lag of the last delivery whose lag was measured.
    """

    agreement_id: str
    counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTER_COLUMNS, 0))
    deliveries: int = 0
    transactions: int = 0
    item_rejections: dict[str, int] = field(default_factory=dict)
    message_rejections: dict[str, int] = field(default_factory=dict)
    unverified_rejections: dict[str, int] = field(default_factory=dict)
    last_delivery_at: dt.datetime | None = None
    last_lag_seconds: float | None = None
    #: authenticated messages whose ``sent_at`` was ahead of the hub's clock (beyond tolerance)
    clock_ahead_messages: int = 0
    clock_ahead_max_seconds: int | None = None

    @property
    def items_accepted(self) -> int:
        return self.counters["items_accepted"]

    @property
    def items_rejected(self) -> int:
        return self.counters["items_rejected"]

    @property
    def curp_validity(self) -> float | None:
        """Share of items carrying a CURP whose CURP is valid."""
        return _ratio(self.counters["curp_valid"], self.counters["curp_present"])

    @property
    def completeness(self) -> float | None:
        """Share of required fields present over the items received."""
        return _ratio(self.counters["required_present"], self.counters["required_expected"])

    @property
    def items_inspected(self) -> int:
        """Items checked one by one: those received but the items of change sets refused as a
        whole (counted under a set-level reason), whose repetitions nobody looked for."""
        refused = sum(n for code, n in self.item_rejections.items() if code in SET_LEVEL_REASONS)
        return max(0, self.counters["items_received"] - refused)

    @property
    def duplicate_ratio(self) -> float | None:
        """Items repeated within their change set over the items inspected (replays of a whole
        message are the hub's, not counted here)."""
        return _ratio(self.counters["duplicates"], self.items_inspected)

    @property
    def rejection_rate(self) -> float | None:
        return _ratio(self.items_rejected, self.counters["items_received"])

    @property
    def acceptance_rate(self) -> float | None:
        return _ratio(self.items_accepted, self.counters["items_received"])

    @property
    def on_time(self) -> bool | None:
        """The timeliness verdict of these figures: no item beyond the agreement's maximum lag
        (``late_items`` is 0). None when there was nothing to measure (no delivery, or only the
        initial load). The public scorecard's ``on_time_measured`` and ``sisi compliance`` both
        take it from here, so they cannot disagree on the same agreement and period."""
        measured = self.counters["late_items"] > 0 or self.last_lag_seconds is not None
        return self.counters["late_items"] == 0 if measured else None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (no personal data: counts and ratios only)."""
        last = self.last_delivery_at
        return {
            "agreement_id": self.agreement_id,
            **self.counters,
            "deliveries": self.deliveries,
            "transactions": self.transactions,
            "rejections_by_reason": dict(sorted(self.item_rejections.items())),
            "refused_messages_by_reason": dict(sorted(self.message_rejections.items())),
            "unauthenticated_refusals_by_reason": dict(sorted(self.unverified_rejections.items())),
            "curp_validity": self.curp_validity,
            "completeness": self.completeness,
            "duplicate_ratio": self.duplicate_ratio,
            "rejection_rate": self.rejection_rate,
            "on_time": self.on_time is True,  # as the scorecard's: false also when not measured
            "on_time_measured": self.on_time,
            "last_delivery_at": last.isoformat() if last else None,
            "last_lag_seconds": self.last_lag_seconds,
            "clock_ahead_messages": self.clock_ahead_messages,
            "clock_ahead_max_seconds": self.clock_ahead_max_seconds,
        }


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.UTC)


def read_compliance(
    engine: Engine, *, period: str | None = None, agreement_ids: Iterable[str] = ()
) -> list[AgreementCompliance]:
    """Per-agreement totals, sorted by agreement id (one ``period`` or all of them); every id in
    ``agreement_ids`` is listed, with zeros when it has no data."""
    by_id: dict[str, AgreementCompliance] = {}

    def get(agreement_id: str) -> AgreementCompliance:
        if agreement_id not in by_id:
            by_id[agreement_id] = AgreementCompliance(agreement_id)
        return by_id[agreement_id]

    for agreement_id in agreement_ids:
        get(agreement_id)
    t, r, d = compliance_totals.c, compliance_rejections.c, compliance_deliveries.c
    with engine.connect() as conn:
        totals = select(compliance_totals)
        rejections = select(r.agreement_id, r.reason_code, r.scope, r["count"])
        transactions = (
            select(
                d.agreement_id,
                func.count(),
                func.sum(case((d.accepted_sets > 0, 1), else_=0)),
            )
            .where(*_seen_in(period))
            .group_by(d.agreement_id)
        )
        measured = (d.accepted_sets > 0, d.worst_lag_seconds.is_not(None), *_seen_in(period))
        last_seen = (
            select(d.agreement_id, func.max(d.first_seen_at).label("at"))
            .where(*measured)
            .group_by(d.agreement_id)
            .subquery()
        )
        lags = (  # the last measured delivery of each agreement (ties: by transaction id)
            select(d.agreement_id, d.worst_lag_seconds)
            .join(
                last_seen,
                (last_seen.c.agreement_id == d.agreement_id) & (last_seen.c.at == d.first_seen_at),
            )
            .where(*measured)
            .order_by(d.agreement_id, d.transaction_id)
        )
        if period is not None:
            totals = totals.where(t.period == period)
            rejections = rejections.where(r.period == period)
        rows: Iterable[Any] = conn.execute(totals).mappings()
        latest: dict[str, tuple[dt.datetime, float | None]] = {}
        for row in rows:
            item = get(row["agreement_id"])
            for name in COUNTER_COLUMNS:
                item.counters[name] += int(row[name] or 0)
            at = _aware(row["last_delivery_at"])
            known = latest.get(row["agreement_id"])
            if at is not None and (known is None or at > known[0]):
                latest[row["agreement_id"]] = (at, row["last_lag_seconds"])
        for agreement_id, (at, lag) in latest.items():
            item = get(agreement_id)
            item.last_delivery_at = at
            item.last_lag_seconds = lag  # kept before migration 0006; replaced just below
        for agreement_id, lag in conn.execute(lags):
            get(agreement_id).last_lag_seconds = lag  # ordered: the last delivery's wins
        sums: dict[tuple[str, str, str], int] = defaultdict(int)
        for agreement_id, code, scope, count in conn.execute(rejections):
            where = (agreement_id, code, _scope_of(code, scope))
            # a greatest value over periods is their greatest, every other one their sum
            so_far = sums[where]
            sums[where] = (
                max(so_far, int(count)) if scope == CLOCK_AHEAD_MAX else so_far + int(count)
            )
        for (agreement_id, code, scope), count in sums.items():
            if scope == "replay":
                continue  # counted as replays (rows stored before 0006)
            target = get(agreement_id)
            if scope == CLOCK_AHEAD:
                target.clock_ahead_messages += count
                continue
            if scope == CLOCK_AHEAD_MAX:
                target.clock_ahead_max_seconds = count
                continue
            by_scope = {
                "item": target.item_rejections,
                "message": target.message_rejections,
                UNVERIFIED: target.unverified_rejections,
            }
            by_scope[scope][code] = count
        for agreement_id, seen, delivered in conn.execute(transactions):
            item = get(agreement_id)
            item.transactions, item.deliveries = int(seen), int(delivered or 0)
    return [by_id[key] for key in sorted(by_id)]


def _scope_of(code: str, scope: str) -> str:
    """The scope of a stored rejection row (rows stored before migration 0006 counted replays
    and refusals before authentication as the agreement's ``message`` rejections)."""
    if scope == "message" and code == MENSAJE_REPETIDO:
        return "replay"
    if scope == "message" and code in _UNVERIFIED_CODES:
        return UNVERIFIED
    return scope


def _seen_in(period: str | None) -> list[Any]:
    """Conditions on transactions first seen in ``period`` (AAAA-MM; None: all of them)."""
    if period is None:
        return []
    d = compliance_deliveries.c
    year, month = (int(part) for part in period.split("-"))
    start = dt.datetime(year, month, 1, tzinfo=dt.UTC)
    end = dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=dt.UTC)
    return [d.first_seen_at >= start, d.first_seen_at < end]
