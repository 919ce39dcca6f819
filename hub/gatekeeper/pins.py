"""Which exact schema each contract version stands for: the first one the audit log recorded.

An agreement lists contract versions by number (``contracts: [{subject, versions: [1, 2]}]``),
but what its signatories agreed to is the schema each number named when the hub audited it. The
hub records every (subject, version) of its Schema Registry as ``CONTRACT_REGISTERED`` with the
SHA-256 of the schema's canonical form (``hub.worker.changes``); the *first* such entry of a
version is its pin. A later entry for the same number with another fingerprint (a number the
registry gave again after a permanent delete, or a hand edit of its tables) never replaces it:
the gatekeeper refuses messages whose schema differs from the pin (``ESQUEMA_NO_CONVENIDO``).

The audit log is append-only and shared by every worker, so a pin, once found, never changes and
every worker finds the same one; no table of its own is needed. A version not audited yet (one
registered since the workers' last look at the registry, at most a few seconds) has no pin: its
number never named another schema (the registry never reuses a number, migration 0008), so the
registry's current schema for it is the one the audit log will record.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from sqlalchemy import Connection, select

from hub.audit.chain import Action
from hub.audit.store import audit_log

__all__ = ["PinKey", "first_fingerprints", "read_pins"]

#: A contract version: (subject, version).
PinKey = tuple[str, int]


def first_fingerprints(entries: Iterable[tuple[int, Mapping[str, str]]]) -> dict[PinKey, str]:
    """Each version's pin from ``(sequence, details)`` of ``CONTRACT_REGISTERED`` entries: the
    fingerprint of the earliest entry (lowest sequence) naming that subject and version."""
    pins: dict[PinKey, str] = {}
    for _, details in sorted(entries, key=lambda entry: entry[0]):
        try:
            key = (str(details["subject"]), int(details["version"]))
            digest = str(details["sha256"])
        except (KeyError, TypeError, ValueError):
            continue  # not an entry of the contracts' shape
        if digest and key not in pins:
            pins[key] = digest
    return pins


def read_pins(conn: Connection) -> dict[PinKey, str]:
    """Every contract version's pin in the audit log at ``conn``."""
    query = (
        select(audit_log.c.sequence, audit_log.c.details)
        .where(audit_log.c.action == Action.CONTRACT_REGISTERED.value)
        .order_by(audit_log.c.sequence)
    )
    entries = []
    for sequence, text in conn.execute(query):
        try:
            details = json.loads(text)
        except (TypeError, ValueError):
            continue
        if isinstance(details, dict):
            entries.append((int(sequence), details))
    return first_fingerprints(entries)
