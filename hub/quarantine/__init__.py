"""Quarantine: refused messages kept intact with their reasons, published DLQ-style."""

from __future__ import annotations

from hub.quarantine.records import (
    EXCEPTION_CLASS,
    QUARANTINE_SUBJECT,
    REASON_HEADER,
    REFERENCE_HEADER,
    QuarantineEntry,
    dead_letter_headers,
    entries_for,
    group_by_reason,
    quarantine_record,
)
from hub.quarantine.store import (
    QuarantinedItem,
    QuarantineNotFoundError,
    claim_replay,
    count_by_reason,
    count_items,
    decode_headers,
    encode_headers,
    get_item,
    insert,
    items_at,
    list_items,
    mark_replayed,
    reclaim_replay,
    release_replay,
    replayed_copies,
)
from hub.quarantine.tables import quarantine_entries, quarantine_messages

__all__ = [
    "EXCEPTION_CLASS",
    "QUARANTINE_SUBJECT",
    "REASON_HEADER",
    "REFERENCE_HEADER",
    "QuarantineEntry",
    "QuarantineNotFoundError",
    "QuarantinedItem",
    "claim_replay",
    "count_by_reason",
    "count_items",
    "dead_letter_headers",
    "decode_headers",
    "encode_headers",
    "entries_for",
    "get_item",
    "group_by_reason",
    "insert",
    "items_at",
    "list_items",
    "mark_replayed",
    "quarantine_entries",
    "quarantine_messages",
    "quarantine_record",
    "reclaim_replay",
    "release_replay",
    "replayed_copies",
]
