"""The hub's audit log: append-only, hash-chained, each batch signed with the hub's Ed25519 key.

Only the last entry of every appended batch is signed (a signed batch head, as in Certificate
Transparency); its hash commits to every earlier entry. Record with :class:`AuditLog`
(``append_many``, ``append_in``, ``read_personal``), check with :func:`verify_chain`, publish
:meth:`AuditLog.head` (its ``head_signature`` covers sequence, hash, time and key:
:mod:`hub.audit.headsig`), read the latest entries with :func:`recent_entries`. The hub's key
comes from :func:`load_or_create_hub_key` and is rotated with :func:`rotate_hub_key`; a log
signed by several keys over time is verified with :class:`HubKeys` (:mod:`hub.audit.custody`).
"""

from __future__ import annotations

from hub.audit.chain import (
    GENESIS_HASH,
    Action,
    AuditEntry,
    AuditEvent,
    ChainHead,
    canonical_bytes,
    chain_hash,
    extend_chain,
    idempotency_key,
)
from hub.audit.custody import HubKeys
from hub.audit.headsig import HeadForm
from hub.audit.keys import (
    hub_key_path,
    hub_public_key_path,
    load_hub_public_key,
    load_or_create_hub_key,
)
from hub.audit.publish import (
    AUDIT_RECORD_SUBJECT,
    AUDIT_RECORD_VERSION,
    CHAIN_HEAD_SUBJECT,
    entry_from_record,
    entry_to_record,
    head_to_record,
)
from hub.audit.rotation import Rotation, rotate_hub_key
from hub.audit.store import AuditLog, iter_entries, read_head, recent_entries
from hub.audit.verify import Problem, VerificationReport, verify_chain

__all__ = [
    "AUDIT_RECORD_SUBJECT",
    "AUDIT_RECORD_VERSION",
    "CHAIN_HEAD_SUBJECT",
    "GENESIS_HASH",
    "Action",
    "AuditEntry",
    "AuditEvent",
    "AuditLog",
    "ChainHead",
    "HeadForm",
    "HubKeys",
    "Problem",
    "Rotation",
    "VerificationReport",
    "canonical_bytes",
    "chain_hash",
    "entry_from_record",
    "entry_to_record",
    "extend_chain",
    "head_to_record",
    "hub_key_path",
    "hub_public_key_path",
    "idempotency_key",
    "iter_entries",
    "load_hub_public_key",
    "load_or_create_hub_key",
    "read_head",
    "recent_entries",
    "rotate_hub_key",
    "verify_chain",
]
