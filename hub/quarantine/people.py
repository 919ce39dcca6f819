"""Whose personal data a quarantined change set holds: what ``sisi quarantine show`` records.

``show`` hands out the original bytes: every person of every item in the set, not only the
refused one. Its audit entry must name them so that "who read my data" (``sisi audit reads``)
finds the read. A person the registry holds is named by her registry id (as a list read names
the people it showed); every CURP in the set is also named by its keyed digest
(``curp-hmac:`` and the HMAC of :func:`hub.audit.pseudonym.curp_digest`), since quarantined
people are often not in the registry, or not yet. No CURP in clear ever reaches the log.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, tuple_
from sqlalchemy.engine import Engine

from hub.audit.pseudonym import curp_digest
from hub.contracts.wire import WireFormatError, decode, split
from hub.gatekeeper.schemas import StoreSchemas
from hub.registry.models import Person, SourceRecord
from hub.validation.curp import normalize_curp

__all__ = ["CURP_DIGEST_PREFIX", "SetPeople", "people_in"]

#: How a CURP is named among the people of a read: its keyed digest, never the CURP.
CURP_DIGEST_PREFIX: Final = "curp-hmac:"
_CHUNK: Final = 500


@dataclass(frozen=True)
class SetPeople:
    """The people of a quarantined set: ``ids`` to record, and how many items it has.

    ``readable`` is False when the value could not be decoded (then nobody can be named: the
    entry says so and records the read of the bytes under the quarantine entry alone).
    """

    ids: tuple[str, ...]
    items: int
    readable: bool


def _items(engine: Engine, value: bytes) -> list[dict[str, Any]] | None:
    try:
        schema_id, _ = split(value)
        resolved = StoreSchemas(engine).resolve(schema_id)
        record = decode(value, {schema_id: resolved.parsed})
    except (WireFormatError, KeyError, ValueError, TypeError, EOFError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("items"), list):
        return None
    return [i for i in record["items"] if isinstance(i, dict)]


def _chunks(values: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def people_in(
    engine: Engine, value: bytes, agreement_id: str | None, hub_key: Ed25519PrivateKey
) -> SetPeople:
    """The registry ids and CURP digests of everyone in the change set ``value``."""
    items = _items(engine, value)
    if items is None:
        return SetPeople((), 0, False)
    curps: set[str] = set()
    references: set[str] = set()
    for item in items:
        person = item.get("person")
        raw = person.get("curp") if isinstance(person, dict) else None
        if isinstance(raw, str) and normalize_curp(raw):
            curps.add(normalize_curp(raw))
        reference = item.get("reference_id")
        if isinstance(reference, str) and reference:
            references.add(reference)
    ids: set[str] = {CURP_DIGEST_PREFIX + curp_digest(hub_key, c) for c in curps}
    with engine.connect() as conn:
        for chunk in _chunks(sorted(curps)):
            ids.update(conn.execute(select(Person.id).where(Person.curp.in_(chunk))).scalars())
        if agreement_id:
            keys = [(agreement_id, r) for r in sorted(references)]
            for part in _chunks(keys):
                query = select(SourceRecord.person_id).where(
                    tuple_(SourceRecord.agreement_id, SourceRecord.reference_id).in_(part)
                )
                ids.update(conn.execute(query).scalars())
    return SetPeople(tuple(sorted(str(i) for i in ids)), len(items), True)
