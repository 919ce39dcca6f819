"""Topic names: one place that says what flows where."""

from __future__ import annotations

from typing import Final

__all__ = [
    "ACCEPTED",
    "AUDIT",
    "PUBLIC_AUDIT_HEAD",
    "PUBLIC_CATALOG",
    "PUBLIC_COVERAGE",
    "PUBLIC_SCORECARDS",
    "QUARANTINE",
    "agreement_changes",
    "agreement_receipts",
    "hub_topics",
]

#: Items that passed the gatekeeper, on their way to the registry writer.
ACCEPTED: Final = "sisi.hub.accepted"
#: Rejected change sets/items: original bytes plus reason headers (Kafka Connect DLQ style).
QUARANTINE: Final = "sisi.hub.quarantine"
#: Audit records before they are chained into the log.
AUDIT: Final = "sisi.hub.audit"
#: Public topics: aggregates only, never a person.
PUBLIC_COVERAGE: Final = "sisi.public.coverage"
PUBLIC_CATALOG: Final = "sisi.public.catalog"
PUBLIC_SCORECARDS: Final = "sisi.public.scorecards"
PUBLIC_AUDIT_HEAD: Final = "sisi.public.audit-head"


def agreement_changes(agreement_id: str) -> str:
    """The topic an agency publishes its change sets (or survey sets) to."""
    return f"sisi.agreement.{agreement_id}.changesets"


def agreement_receipts(agreement_id: str) -> str:
    """The topic the hub publishes that agreement's receipts to."""
    return f"sisi.agreement.{agreement_id}.receipts"


def hub_topics() -> tuple[str, ...]:
    """The hub's own topics, created alongside the agreements' topics."""
    return (
        ACCEPTED,
        QUARANTINE,
        AUDIT,
        PUBLIC_COVERAGE,
        PUBLIC_CATALOG,
        PUBLIC_SCORECARDS,
        PUBLIC_AUDIT_HEAD,
    )
