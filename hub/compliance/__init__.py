"""Compliance per agreement: counters kept with the ledger, Prometheus metrics, scorecards."""

from __future__ import annotations

from hub.compliance.cadence import delivery_due, overdue
from hub.compliance.counting import UNKNOWN_AGREEMENT, Tally, period_of, tally
from hub.compliance.metrics import METRIC_NAMES, ComplianceCollector
from hub.compliance.published import latest_cards, read_published_scorecards
from hub.compliance.scorecard import SCORECARD_SUBJECT, build_scorecards
from hub.compliance.store import AgreementCompliance, add_tally, read_compliance
from hub.compliance.tables import (
    COUNTER_COLUMNS,
    compliance_deliveries,
    compliance_rejections,
    compliance_totals,
)

__all__ = [
    "COUNTER_COLUMNS",
    "METRIC_NAMES",
    "SCORECARD_SUBJECT",
    "UNKNOWN_AGREEMENT",
    "AgreementCompliance",
    "ComplianceCollector",
    "Tally",
    "add_tally",
    "build_scorecards",
    "compliance_deliveries",
    "compliance_rejections",
    "compliance_totals",
    "delivery_due",
    "latest_cards",
    "overdue",
    "period_of",
    "read_compliance",
    "read_published_scorecards",
    "tally",
]
