"""The audit entries one processed message adds (pure): accepted and rejected items, refusals."""

from __future__ import annotations

from hub.audit.chain import Action, AuditEvent
from hub.gatekeeper.verdict import Verdict

__all__ = ["HUB_ACTOR", "audit_events"]

#: Who the audit log names for what the gatekeeper decides.
HUB_ACTOR = "sisi-hub/gatekeeper"


def audit_events(verdict: Verdict, topic: str, partition: int, offset: int) -> list[AuditEvent]:
    """One event per item (accepted or rejected), or one for a refused change set.

    A refused set's entry carries its Kafka position in ``reference_id`` (``kafka:topic/p/o``):
    an unauthenticated message's identity is not trusted, its position is.
    """
    agreement_id = verdict.agreement.id if verdict.agreement else verdict.agreement_id
    refusal = verdict.refusal
    if refusal is not None:
        details = {"reason_code": refusal.code, "authenticated": str(verdict.authenticated)}
        if refusal.field:
            details["field"] = refusal.field
        return [
            AuditEvent(
                actor=HUB_ACTOR,
                action=Action.CHANGESET_REJECTED,
                agreement_id=agreement_id,
                message_id=verdict.message_id,
                reference_id=f"kafka:{topic}/{partition}/{offset}",
                details=details,
            )
        ]
    events = [
        AuditEvent(
            actor=HUB_ACTOR,
            action=Action.ITEM_ACCEPTED,
            agreement_id=agreement_id,
            message_id=verdict.message_id,
            reference_id=item["reference_id"],
            details={"operation": str(item["operation"])},
        )
        for item in verdict.accepted
    ]
    events += [
        AuditEvent(
            actor=HUB_ACTOR,
            action=Action.ITEM_REJECTED,
            agreement_id=agreement_id,
            message_id=verdict.message_id,
            reference_id=item.reference_id,
            details={"reason_code": item.code, **({"field": item.field} if item.field else {})},
        )
        for item in verdict.rejected
    ]
    return events
