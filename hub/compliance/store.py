"""Compliance in the database: add a tally inside the ledger's transaction, read the totals."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, select, update
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

__all__ = [
    "AgreementCompliance",
    "add_tally",
    "first_transaction",
    "lock_first_delivery",
    "read_compliance",
]


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
    if tally.delivered_at is not None:
        values["last_delivery_at"] = tally.delivered_at
        if tally.last_lag_seconds is not None:  # not measured in an initial load
            values["last_lag_seconds"] = tally.last_lag_seconds
    conn.execute(
        update(compliance_totals)
        .where(t.agreement_id == tally.agreement_id, t.period == tally.period)
        .values(**values)
    )
    for scope, counts in (("item", tally.item_rejections), ("message", tally.message_rejections)):
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
    if tally.transaction_id:
        conn.execute(
            _insert(conn, compliance_deliveries)
            .values(
                agreement_id=tally.agreement_id,
                transaction_id=tally.transaction_id,
                first_seen_at=now,
            )
            .on_conflict_do_nothing()
        )


def first_transaction(conn: Connection, agreement_id: str) -> str | None:
    """The agreement's first delivery (transaction id) the hub saw, or None before any."""
    d = compliance_deliveries.c
    query = (
        select(d.transaction_id)
        .where(d.agreement_id == agreement_id)
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
    """Totals of one agreement (all periods, or one when read with ``period``)."""

    agreement_id: str
    counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTER_COLUMNS, 0))
    deliveries: int = 0
    item_rejections: dict[str, int] = field(default_factory=dict)
    message_rejections: dict[str, int] = field(default_factory=dict)
    last_delivery_at: dt.datetime | None = None
    last_lag_seconds: float | None = None

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
    def duplicate_ratio(self) -> float | None:
        """Repeated items (within a change set, and in replayed messages) over items seen."""
        c = self.counters
        seen = c["items_received"] + c["replayed_items"]
        return _ratio(c["duplicates"] + c["replayed_items"], seen)

    @property
    def rejection_rate(self) -> float | None:
        return _ratio(self.items_rejected, self.counters["items_received"])

    @property
    def acceptance_rate(self) -> float | None:
        return _ratio(self.items_accepted, self.counters["items_received"])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (no personal data: counts and ratios only)."""
        last = self.last_delivery_at
        return {
            "agreement_id": self.agreement_id,
            **self.counters,
            "deliveries": self.deliveries,
            "rejections_by_reason": dict(sorted(self.item_rejections.items())),
            "refused_messages_by_reason": dict(sorted(self.message_rejections.items())),
            "curp_validity": self.curp_validity,
            "completeness": self.completeness,
            "duplicate_ratio": self.duplicate_ratio,
            "rejection_rate": self.rejection_rate,
            "last_delivery_at": last.isoformat() if last else None,
            "last_lag_seconds": self.last_lag_seconds,
        }


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.UTC)


def read_compliance(engine: Engine, *, period: str | None = None) -> list[AgreementCompliance]:
    """Per-agreement totals, sorted by agreement id (one ``period`` or all of them)."""
    by_id: dict[str, AgreementCompliance] = {}

    def get(agreement_id: str) -> AgreementCompliance:
        if agreement_id not in by_id:
            by_id[agreement_id] = AgreementCompliance(agreement_id)
        return by_id[agreement_id]

    t, r, d = compliance_totals.c, compliance_rejections.c, compliance_deliveries.c
    with engine.connect() as conn:
        totals = select(compliance_totals)
        rejections = select(r.agreement_id, r.reason_code, r.scope, r["count"])
        deliveries = select(d.agreement_id, func.count()).group_by(d.agreement_id)
        if period is not None:
            totals = totals.where(t.period == period)
            rejections = rejections.where(r.period == period)
            deliveries = _deliveries_in(period)
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
            item.last_delivery_at, item.last_lag_seconds = at, lag
        sums: dict[tuple[str, str, str], int] = defaultdict(int)
        for agreement_id, code, scope, count in conn.execute(rejections):
            sums[(agreement_id, code, scope)] += int(count)
        for (agreement_id, code, scope), count in sums.items():
            target = get(agreement_id)
            (target.item_rejections if scope == "item" else target.message_rejections)[code] = count
        for agreement_id, count in conn.execute(deliveries):
            get(agreement_id).deliveries = int(count)
    return [by_id[key] for key in sorted(by_id)]


def _deliveries_in(period: str) -> Any:
    """Deliveries first seen in ``period`` (AAAA-MM), per agreement."""
    d = compliance_deliveries.c
    year, month = (int(part) for part in period.split("-"))
    start = dt.datetime(year, month, 1, tzinfo=dt.UTC)
    end = dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=dt.UTC)
    return (
        select(d.agreement_id, func.count())
        .where(d.first_seen_at >= start, d.first_seen_at < end)
        .group_by(d.agreement_id)
    )
