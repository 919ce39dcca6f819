"""The central registry: tables, the idempotent writer of accepted items, and its queries."""

from __future__ import annotations

from hub.registry.history import EnrollmentEvent, Span, fold
from hub.registry.items import (
    Benefit,
    ChangeItem,
    ChangeSetHeader,
    Geography,
    PersonData,
    normalize_name,
    version,
)
from hub.registry.models import (
    REGISTRY_TABLES,
    AppliedItem,
    BenefitPaid,
    Delivery,
    Enrollment,
    Person,
    PersonLink,
    Program,
    SourceRecord,
)
from hub.registry.programs import ProgramEntry, seed_programs
from hub.registry.queries import (
    EnrolledPerson,
    Payment,
    PaymentReport,
    PersonReport,
    RecordLink,
    RegistryQueryError,
    enrolled_in,
    month_range,
    paid_in,
    person_by_curp,
    record_links,
    stats,
)
from hub.registry.writer import ApplyResult, RegistryWriter, RejectedItem, screen

__all__ = [
    "REGISTRY_TABLES",
    "AppliedItem",
    "ApplyResult",
    "Benefit",
    "BenefitPaid",
    "ChangeItem",
    "ChangeSetHeader",
    "Delivery",
    "EnrolledPerson",
    "Enrollment",
    "EnrollmentEvent",
    "Geography",
    "Payment",
    "PaymentReport",
    "Person",
    "PersonData",
    "PersonLink",
    "PersonReport",
    "Program",
    "ProgramEntry",
    "RecordLink",
    "RegistryQueryError",
    "RegistryWriter",
    "RejectedItem",
    "SourceRecord",
    "Span",
    "enrolled_in",
    "fold",
    "month_range",
    "normalize_name",
    "paid_in",
    "person_by_curp",
    "record_links",
    "screen",
    "seed_programs",
    "stats",
    "version",
]
