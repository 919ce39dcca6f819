"""Compliance counters per agreement and month (``AAAA-MM``), updated with the ledger row.

They are written in the same transaction as the processed-message ledger, so a redelivered
message never counts twice.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Float, String, Table

from hub.db import Base

__all__ = ["COUNTER_COLUMNS", "compliance_deliveries", "compliance_rejections", "compliance_totals"]

#: Additive counters of ``compliance_totals``.
COUNTER_COLUMNS = (
    "messages",
    "items_received",
    "items_accepted",
    "items_rejected",
    "curp_present",
    "curp_valid",
    "required_expected",
    "required_present",
    "duplicates",
    "replays",
    "replayed_items",
    "late_items",
    "initial_items",  # items of the agreement's initial load (lag not measured): migration 0005
)

compliance_totals = Table(
    "compliance_totals",
    Base.metadata,
    Column("agreement_id", String(255), primary_key=True),
    Column("period", String(7), primary_key=True),
    *(Column(name, BigInteger, nullable=False, server_default="0") for name in COUNTER_COLUMNS),
    Column("last_lag_seconds", Float),
    Column("last_delivery_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
)

#: Rejections by reason; ``scope`` is ``item`` (items refused), ``message`` (change sets refused
#: after authentication) or ``unverified`` (refused before it, under the agreement the header
#: claims: not counted against the agency). The same table keeps the hub's observations of the
#: header's clock under reason ``RELOJ_ADELANTADO``: scope ``clock_ahead`` counts messages whose
#: ``sent_at`` was ahead of the hub's clock, ``clock_ahead_max`` holds the greatest advance in
#: whole seconds (kept as a maximum, not added).
compliance_rejections = Table(
    "compliance_rejections",
    Base.metadata,
    Column("agreement_id", String(255), primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("reason_code", String(64), primary_key=True),
    Column("scope", String(16), primary_key=True),
    Column("count", BigInteger, nullable=False, server_default="0"),
)

#: Transactions seen per agreement (authenticated, refused ones too): one row each, whatever the
#: chunks. A transaction with ``accepted_sets > 0`` is a *delivery*; ``worst_lag_seconds`` is the
#: worst lag over its measured chunks (NULL in the initial load): migration 0006.
compliance_deliveries = Table(
    "compliance_deliveries",
    Base.metadata,
    Column("agreement_id", String(255), primary_key=True),
    Column("transaction_id", String(255), primary_key=True),
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
    Column("accepted_sets", BigInteger, nullable=False, server_default="0"),
    Column("worst_lag_seconds", Float),
)
