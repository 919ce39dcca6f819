"""The audit chain as pure domain: entries, canonical bytes, hashing, signing and verification.

Each entry's hash is ``SHA-256(prev_hash || canonical bytes)`` where the canonical bytes are the
entry's fields as JSON with sorted keys, no spaces, UTF-8 and the timestamp in UTC with
millisecond precision (what the Avro ``AuditRecord`` carries, so a record read back from a topic
still verifies). The hub signs each ``entry_hash`` with Ed25519. The first entry's ``prev_hash``
is 32 zero bytes. No I/O here: the store and the CLI feed entries in and out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType

__all__ = [
    "GENESIS_HASH",
    "Action",
    "AuditEntry",
    "AuditEvent",
    "ChainHead",
    "canonical_bytes",
    "chain_hash",
    "extend_chain",
    "format_timestamp",
    "idempotency_key",
    "normalize_timestamp",
]

#: ``prev_hash`` of the first entry.
GENESIS_HASH = bytes(32)

_MAX_ID = 255  # the width of the identifier columns in audit_log

# One encoder for every entry: ``json.dumps`` with options builds a new encoder on each call.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class Action(StrEnum):
    """What an entry records. The values are stable: they are hashed and published."""

    ITEM_ACCEPTED = "ITEM_ACCEPTED"
    ITEM_REJECTED = "ITEM_REJECTED"
    CHANGESET_REJECTED = "CHANGESET_REJECTED"
    AGREEMENT_LOADED = "AGREEMENT_LOADED"
    AGREEMENT_CHANGED = "AGREEMENT_CHANGED"
    CONTRACT_REGISTERED = "CONTRACT_REGISTERED"
    PERSONAL_DATA_READ = "PERSONAL_DATA_READ"
    QUARANTINE_REPLAYED = "QUARANTINE_REPLAYED"
    CHAIN_HEAD_PUBLISHED = "CHAIN_HEAD_PUBLISHED"


def _frozen(details: Mapping[str, str]) -> Mapping[str, str]:
    if isinstance(details, MappingProxyType):  # already checked and copied by this module
        return details
    for key, value in details.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"details must map str to str, got {key!r}: {value!r}")
    return MappingProxyType(dict(details))


def normalize_timestamp(moment: datetime) -> datetime:
    """``moment`` in UTC, truncated to milliseconds; a naive datetime is taken as UTC."""
    if moment.tzinfo is UTC and moment.microsecond % 1000 == 0:
        return moment
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def format_timestamp(moment: datetime) -> str:
    """``2024-05-01T12:00:00.123Z``: the timestamp form that goes into the canonical bytes."""
    moment = normalize_timestamp(moment)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def idempotency_key(
    agreement_id: str | None, message_id: str | None, reference_id: str | None, action: str
) -> str | None:
    """``agreement|message_id|reference_id|action`` when the event belongs to a message, else None.

    Redeliveries of the same message produce the same key, so the log records them once.
    """
    if not agreement_id or not message_id:
        return None
    return f"{agreement_id}|{message_id}|{reference_id or ''}|{action}"


@dataclass(frozen=True)
class AuditEvent:
    """Something to record, before it has a place in the chain."""

    actor: str
    action: Action | str
    agreement_id: str | None = None
    message_id: str | None = None
    reference_id: str | None = None
    purpose: str | None = None
    details: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.actor:
            raise ValueError("an audit event needs an actor")
        for name in ("actor", "agreement_id", "message_id", "reference_id"):
            value = getattr(self, name)
            if value is not None and len(value) > _MAX_ID:
                raise ValueError(f"{name} is longer than {_MAX_ID} characters")
        object.__setattr__(self, "action", str(Action(self.action)))
        object.__setattr__(self, "details", _frozen(self.details))

    @property
    def idempotency_key(self) -> str | None:
        """The key that makes replays of the same message add nothing."""
        return idempotency_key(self.agreement_id, self.message_id, self.reference_id, self.action)


@dataclass(frozen=True)
class AuditEntry:
    """One link of the chain, as stored and as published (Avro ``mx.gob.sisi.hub.AuditRecord``)."""

    sequence: int
    recorded_at: datetime
    actor: str
    action: str
    agreement_id: str | None
    message_id: str | None
    reference_id: str | None
    purpose: str | None
    details: Mapping[str, str]
    prev_hash: bytes
    entry_hash: bytes
    signature: bytes

    def __post_init__(self) -> None:
        object.__setattr__(self, "recorded_at", normalize_timestamp(self.recorded_at))
        object.__setattr__(self, "details", _frozen(self.details))

    @property
    def idempotency_key(self) -> str | None:
        """The replay key of this entry, or None when it does not belong to a message."""
        return idempotency_key(self.agreement_id, self.message_id, self.reference_id, self.action)

    def canonical(self) -> bytes:
        """The canonical bytes this entry's hash covers (see :func:`canonical_bytes`)."""
        return canonical_bytes(
            sequence=self.sequence,
            recorded_at=self.recorded_at,
            actor=self.actor,
            action=self.action,
            agreement_id=self.agreement_id,
            message_id=self.message_id,
            reference_id=self.reference_id,
            purpose=self.purpose,
            details=self.details,
        )

    def computed_hash(self) -> bytes:
        """What ``entry_hash`` must be for the entry's current content and ``prev_hash``."""
        return chain_hash(self.prev_hash, self.canonical())


@dataclass(frozen=True)
class ChainHead:
    """The last link: publishing it lets anyone prove later that the log was not rewritten."""

    sequence: int
    entry_hash: bytes
    signature: bytes
    at: datetime | None

    @property
    def is_empty(self) -> bool:
        """True before the first entry (sequence 0, genesis hash, no signature)."""
        return self.sequence == 0


def canonical_bytes(
    *,
    sequence: int,
    recorded_at: datetime,
    actor: str,
    action: str,
    agreement_id: str | None,
    message_id: str | None,
    reference_id: str | None,
    purpose: str | None,
    details: Mapping[str, str],
) -> bytes:
    """Deterministic bytes of an entry: sorted-key compact JSON in UTF-8, UTC millisecond time."""
    return _canonical(
        sequence,
        format_timestamp(recorded_at),
        actor,
        action,
        agreement_id,
        message_id,
        reference_id,
        purpose,
        details,
    )


def _canonical(
    sequence: int,
    stamp: str,
    actor: str,
    action: str,
    agreement_id: str | None,
    message_id: str | None,
    reference_id: str | None,
    purpose: str | None,
    details: Mapping[str, str],
) -> bytes:
    document = {
        "sequence": sequence,
        "recorded_at": stamp,
        "actor": actor,
        "action": action,
        "agreement_id": agreement_id,
        "message_id": message_id,
        "reference_id": reference_id,
        "purpose": purpose,
        "details": dict(details),
    }
    return _ENCODER.encode(document).encode("utf-8")


def chain_hash(prev_hash: bytes, canonical: bytes) -> bytes:
    """``SHA-256(prev_hash || canonical)``."""
    return hashlib.sha256(prev_hash + canonical).digest()


def extend_chain(
    head: ChainHead,
    events: Iterable[AuditEvent],
    recorded_at: datetime,
    sign_all: Callable[[Sequence[bytes]], Sequence[bytes]],
) -> list[AuditEntry]:
    """The entries that follow ``head`` for ``events``, hashed in order and signed in one call.

    Hashing is sequential (each hash covers the previous one); signing is independent per entry,
    so ``sign_all`` gets every hash at once and may spread the work over threads.
    """
    at = normalize_timestamp(recorded_at)
    stamp = format_timestamp(at)
    prev = head.entry_hash if head.sequence else GENESIS_HASH
    pending: list[tuple[int, AuditEvent, bytes, bytes]] = []
    for offset, event in enumerate(events, start=1):
        sequence = head.sequence + offset
        canonical = _canonical(
            sequence,
            stamp,
            event.actor,
            str(event.action),
            event.agreement_id,
            event.message_id,
            event.reference_id,
            event.purpose,
            event.details,
        )
        entry_hash = chain_hash(prev, canonical)
        pending.append((sequence, event, prev, entry_hash))
        prev = entry_hash
    signatures = sign_all([entry_hash for *_, entry_hash in pending])
    if len(signatures) != len(pending):
        raise ValueError("sign_all returned a different number of signatures than hashes")
    return [
        AuditEntry(
            sequence=sequence,
            recorded_at=at,
            actor=event.actor,
            action=str(event.action),
            agreement_id=event.agreement_id,
            message_id=event.message_id,
            reference_id=event.reference_id,
            purpose=event.purpose,
            details=event.details,
            prev_hash=prev_hash,
            entry_hash=entry_hash,
            signature=signature,
        )
        for (sequence, event, prev_hash, entry_hash), signature in zip(
            pending, signatures, strict=True
        )
    ]
