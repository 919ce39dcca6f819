"""The audit chain as pure domain: entries, canonical bytes, hashing and signed batch heads.

Each entry's hash is ``SHA-256(prev_hash || canonical bytes)`` where the canonical bytes are the
entry's fields as JSON with sorted keys, no spaces, UTF-8 and the timestamp in UTC with
millisecond precision (what the Avro ``AuditRecord`` carries, so a record read back from a topic
still verifies). The first entry's ``prev_hash`` is 32 zero bytes.

Signatures work like Certificate Transparency's signed tree heads: the hub signs (Ed25519) only
the ``entry_hash`` of the last entry of each appended batch. That hash commits to every earlier
entry through the chain, so one signature vouches for the whole batch and everything before it;
the other entries carry no signature. A log that ends in an unsigned entry was cut short.
No I/O here: the store and the CLI feed entries in and out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType

from hub.audit.canonical import (
    Canonicalizer,
    canonical_bytes,
    chain_hash,
    format_timestamp,
    normalize_timestamp,
)

__all__ = [
    "GENESIS_HASH",
    "Action",
    "AuditEntry",
    "AuditEvent",
    "ChainHead",
    "DamagedEntry",
    "build_links",
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
    CONTRACT_DELETED = "CONTRACT_DELETED"
    RECORD_RELINKED = "RECORD_RELINKED"
    CONTRACT_CONFIG_CHANGED = "CONTRACT_CONFIG_CHANGED"
    HUB_KEY_ROTATED = "HUB_KEY_ROTATED"  # new actions go last: the list only grows


_ACTIONS: dict[str, str] = {str(action.value): str(action.value) for action in Action}


def _frozen(details: Mapping[str, str]) -> Mapping[str, str]:
    if type(details) is MappingProxyType:  # already checked and copied by this module
        return details
    for key, value in details.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"details must map str to str, got {key!r}: {value!r}")
    return MappingProxyType(dict(details))


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
    """Something to record, before it has a place in the chain.

    ``key`` is an explicit idempotency key for an event that belongs to no message (an agreement
    or a contract change): the log records an event with a key once. Without it the key comes
    from the message fields (:func:`idempotency_key`). The key is stored, not hashed.
    """

    actor: str
    action: Action | str
    agreement_id: str | None = None
    message_id: str | None = None
    reference_id: str | None = None
    purpose: str | None = None
    details: Mapping[str, str] = field(default_factory=dict)
    key: str | None = None

    def __post_init__(self) -> None:
        # Runs once per audited item in the hub's hot path, hence the plain checks.
        if not self.actor:
            raise ValueError("an audit event needs an actor")
        for value in (self.actor, self.agreement_id, self.message_id, self.reference_id):
            if value is not None and len(value) > _MAX_ID:
                name = next(
                    name
                    for name in ("actor", "agreement_id", "message_id", "reference_id")
                    if getattr(self, name) is value
                )
                raise ValueError(f"{name} is longer than {_MAX_ID} characters")
        action = _ACTIONS.get(self.action)
        if action is None:
            action = str(Action(self.action))  # raises ValueError for an unknown action
        object.__setattr__(self, "action", action)
        if type(self.details) is not MappingProxyType:
            object.__setattr__(self, "details", _frozen(self.details))

    @property
    def idempotency_key(self) -> str | None:
        """The key that makes replays of the same message (or change) add nothing."""
        if self.key is not None:
            return self.key
        return idempotency_key(self.agreement_id, self.message_id, self.reference_id, self.action)


@dataclass(frozen=True)
class AuditEntry:
    """One link of the chain, as stored and as published (Avro ``mx.gob.sisi.hub.AuditRecord``).

    ``signature`` is the hub's Ed25519 signature over ``entry_hash`` on the last entry of each
    appended batch (a signed batch head) and None on the others.
    """

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
    signature: bytes | None = None

    def __post_init__(self) -> None:
        at = self.recorded_at
        if at.tzinfo is not UTC or at.microsecond % 1000:
            object.__setattr__(self, "recorded_at", normalize_timestamp(at))
        if type(self.details) is not MappingProxyType:
            object.__setattr__(self, "details", _frozen(self.details))

    @property
    def is_signed(self) -> bool:
        """True for a signed batch head."""
        return self.signature is not None

    @property
    def idempotency_key(self) -> str | None:
        """The replay key of this entry, or None when it does not belong to a message.

        An explicit key given to the event (``AuditEvent.key``) is kept in the log's column only.
        """
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

    def computed_hash(self, canonicalizer: Canonicalizer | None = None) -> bytes:
        """What ``entry_hash`` must be for the entry's current content and ``prev_hash``."""
        canon = canonicalizer or Canonicalizer()
        canonical, _ = canon.encode(
            self.sequence,
            canon.stamp(self.recorded_at),
            self.actor,
            self.action,
            self.agreement_id,
            self.message_id,
            self.reference_id,
            self.purpose,
            self.details,
        )
        return chain_hash(self.prev_hash, canonical)


@dataclass(frozen=True)
class DamagedEntry(AuditEntry):
    """A stored row that is not an entry the hub could have written (``damage`` says why, in
    Spanish): details that are not a JSON object of texts, a timestamp that does not parse or
    has a fraction of a millisecond. Read back so that verification names it instead of failing;
    its unreadable fields are replaced (empty details, the epoch)."""

    damage: str = ""


@dataclass(frozen=True)
class ChainHead:
    """The last link: publishing it lets anyone prove later that the log was not rewritten."""

    sequence: int
    entry_hash: bytes
    signature: bytes
    at: datetime | None
    #: the hub's signature over the whole head (sequence, hash, time, key id; see
    #: ``hub.audit.headsig``); None on a head of the old form, whose ``signature`` covers only
    #: ``entry_hash``
    head_signature: bytes | None = None
    #: fingerprint of the key that made ``head_signature`` (``hub.agreements.keys.key_id``)
    key_id: str | None = None

    @property
    def is_empty(self) -> bool:
        """True before the first entry (sequence 0, genesis hash, no signature)."""
        return self.sequence == 0


def build_links(
    head: ChainHead,
    events: Iterable[AuditEvent],
    recorded_at: datetime,
    sign_all: Callable[[Sequence[bytes]], Sequence[bytes]],
    *,
    sign_each: bool = False,
) -> tuple[list[AuditEntry], list[str]]:
    """The entries that follow ``head`` for ``events`` and each entry's details as JSON text.

    Only the last entry is signed (``sign_all`` gets its one hash); with ``sign_each`` every
    entry is (the per-entry design this replaced: ~30 µs an entry, kept for comparison).
    """
    at = normalize_timestamp(recorded_at)
    canon = Canonicalizer()
    stamp = canon.stamp(at)
    encode = canon.encode
    sha256 = hashlib.sha256
    prev = head.entry_hash if head.sequence else GENESIS_HASH
    sequence = head.sequence
    pending: list[tuple[int, AuditEvent, bytes, bytes]] = []
    texts: list[str] = []
    for event in events:
        sequence += 1
        canonical, details_text = encode(
            sequence,
            stamp,
            event.actor,
            event.action,
            event.agreement_id,
            event.message_id,
            event.reference_id,
            event.purpose,
            event.details,
        )
        entry_hash = sha256(prev + canonical).digest()
        pending.append((sequence, event, prev, entry_hash))
        texts.append(details_text)
        prev = entry_hash
    if not pending:
        return [], []
    if sign_each:
        signatures: list[bytes | None] = list(sign_all([item[3] for item in pending]))
    else:
        signatures = [None] * (len(pending) - 1)
        signatures.extend(sign_all([prev]))
    if len(signatures) != len(pending):
        raise ValueError("sign_all returned a different number of signatures than hashes")
    entries = [
        AuditEntry(
            sequence,
            at,
            event.actor,
            event.action,
            event.agreement_id,
            event.message_id,
            event.reference_id,
            event.purpose,
            event.details,
            prev_hash,
            entry_hash,
            signature,
        )
        for (sequence, event, prev_hash, entry_hash), signature in zip(
            pending, signatures, strict=True
        )
    ]
    return entries, texts


def extend_chain(
    head: ChainHead,
    events: Iterable[AuditEvent],
    recorded_at: datetime,
    sign_all: Callable[[Sequence[bytes]], Sequence[bytes]],
    *,
    sign_each: bool = False,
) -> list[AuditEntry]:
    """The entries that follow ``head`` for ``events``: hash-chained, the last one signed.

    ``sign_all`` gets the hashes to sign (just the batch head's, or every one with
    ``sign_each``) and returns their signatures in order.
    """
    return build_links(head, events, recorded_at, sign_all, sign_each=sign_each)[0]
