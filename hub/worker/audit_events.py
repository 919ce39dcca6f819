"""The audit entries one processed message adds (pure): accepted and rejected items, refusals."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from hub.audit.chain import Action, AuditEvent, idempotency_key
from hub.gatekeeper.verdict import Verdict
from hub.registry.linking import Relink

__all__ = ["HUB_ACTOR", "audit_events", "relink_events"]

#: Who the audit log names for what the gatekeeper decides.
HUB_ACTOR = "sisi-hub/gatekeeper"


def _same(reference: str) -> str:
    return reference


def audit_events(
    verdict: Verdict,
    topic: str,
    partition: int,
    offset: int,
    mask: Callable[[str], str] = _same,
) -> list[AuditEvent]:
    """One event per item (accepted or rejected), or one for a refused change set.

    A refused set's entry carries its Kafka position in ``reference_id`` (``kafka:topic/p/o``):
    an unauthenticated message's identity is not trusted, its position is. ``mask`` writes each
    item's reference as the log may hold it (``AuditLog.reference_mask``: an agency that uses
    the CURP as its folio gets a keyed digest in the log, never the CURP).
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
            reference_id=mask(item["reference_id"]),
            details={"operation": str(item["operation"])},
        )
        for item in verdict.accepted
    ]
    seen: dict[str, int] = {}
    for item in verdict.rejected:
        # one reference refused twice in a change set (REFERENCIA_REPETIDA) gets two entries:
        # the later ones' keys say which occurrence they are (the same on a redelivery)
        reference = mask(item.reference_id)
        n = seen[reference] = seen.get(reference, 0) + 1
        key = None
        if n > 1:
            base = idempotency_key(
                agreement_id, verdict.message_id, reference, Action.ITEM_REJECTED
            )
            key = f"{base}#{n}" if base is not None else None
        events.append(
            AuditEvent(
                actor=HUB_ACTOR,
                action=Action.ITEM_REJECTED,
                agreement_id=agreement_id,
                message_id=verdict.message_id,
                reference_id=reference,
                details={
                    "reason_code": item.code,
                    **({"field": item.field} if item.field else {}),
                },
                key=key,
            )
        )
    return events


def relink_events(
    agreement_id: str,
    message_id: str,
    relinks: Sequence[Relink],
    removed: Collection[str],
    mask: Callable[[str], str] = _same,
) -> list[AuditEvent]:
    """One event per source record an item moved to another person (registry ids, no CURP).

    A record moves when an item gives it another valid CURP (a corrected CURP, or a folio the
    agency reused for somebody else) or when a record without CURP learns one that the registry
    already knows. Its enrollments and payments move with it; a person left without records is
    removed. These are identity decisions: an auditor, or an ARCO request of either person, must
    find them. The idempotency key names the occurrence (one record may move twice in a set).
    """
    events = []
    seen: dict[str, int] = {}
    for relink in relinks:
        reference = mask(relink.reference_id)
        n = seen[reference] = seen.get(reference, 0) + 1
        key = None
        if n > 1:
            base = idempotency_key(agreement_id, message_id, reference, Action.RECORD_RELINKED)
            key = f"{base}#{n}" if base is not None else None
        cause = "curp_corregida" if relink.old_curp is not None else "curp_conocida"
        events.append(
            AuditEvent(
                actor=HUB_ACTOR,
                action=Action.RECORD_RELINKED,
                agreement_id=agreement_id,
                message_id=message_id,
                reference_id=reference,
                details={
                    "de_persona": relink.old_person_id,
                    "a_persona": relink.new_person_id,
                    "motivo": cause,
                    "persona_anterior_eliminada": str(relink.old_person_id in removed).lower(),
                },
                key=key,
            )
        )
    return events
