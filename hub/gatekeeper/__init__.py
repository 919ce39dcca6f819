"""The hub's gatekeeper: who may send what (signature, agreement, contract, scope, validation).

:class:`Gatekeeper` is pure domain; :mod:`hub.gatekeeper.ledger` records processed messages,
:mod:`hub.gatekeeper.receipts` builds the receipts agencies get back.
"""

from __future__ import annotations

from hub.gatekeeper.inspector import Gatekeeper, SchemaSource, message_identity
from hub.gatekeeper.items import check_items, flatten, required_fields
from hub.gatekeeper.reasons import GATEKEEPER_REASONS, SET_LEVEL_REASONS, describe
from hub.gatekeeper.schemas import ResolvedSchema, StoreSchemas
from hub.gatekeeper.verdict import ItemQuality, Refusal, RejectedItem, Verdict

__all__ = [
    "GATEKEEPER_REASONS",
    "SET_LEVEL_REASONS",
    "Gatekeeper",
    "ItemQuality",
    "Refusal",
    "RejectedItem",
    "ResolvedSchema",
    "SchemaSource",
    "StoreSchemas",
    "Verdict",
    "check_items",
    "describe",
    "flatten",
    "message_identity",
    "required_fields",
]
