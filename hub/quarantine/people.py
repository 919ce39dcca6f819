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
    """The people of a quarantined set: ``ids`` to record, how many items and people it has.

    ``ids`` names each person up to twice (registry id and CURP digest); ``people`` counts the
    distinct people the set shows (what ``sisi audit reads`` says a read showed). ``record`` is
    the decoded change set (header and items), handed out by the audited read that names them.
    ``readable`` is False when the value could not be decoded (then nobody can be named: the
    entry says so and records the read of the bytes under the quarantine entry alone).
    """

    ids: tuple[str, ...]
    items: int
    readable: bool
    people: int = 0
    record: dict[str, Any] | None = None


def _decoded(engine: Engine, value: bytes) -> dict[str, Any] | None:
    try:
        schema_id, _ = split(value)
        resolved = StoreSchemas(engine).resolve(schema_id)
        record = decode(value, {schema_id: resolved.parsed})
    except (WireFormatError, KeyError, ValueError, TypeError, EOFError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("items"), list):
        return None
    return record


def _chunks(values: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def people_in(
    engine: Engine, value: bytes, agreement_id: str | None, hub_key: Ed25519PrivateKey
) -> SetPeople:
    """The registry ids and CURP digests of everyone in the change set ``value``."""
    record = _decoded(engine, value)
    if record is None:
        return SetPeople((), 0, False)
    items = [i for i in record["items"] if isinstance(i, dict)]
    # each item is about one person: her CURP when it has one, else the registry person its
    # folio is linked to, else the folio (or the item itself) as an unknown person of its own
    who: list[tuple[str | None, str | None]] = []
    for item in items:
        person = item.get("person")
        raw = person.get("curp") if isinstance(person, dict) else None
        curp = normalize_curp(raw) if isinstance(raw, str) and normalize_curp(raw) else None
        reference = item.get("reference_id")
        who.append((curp, reference if isinstance(reference, str) and reference else None))
    curps = {curp for curp, _ in who if curp}
    references = {reference for _, reference in who if reference}
    ids: set[str] = {CURP_DIGEST_PREFIX + curp_digest(hub_key, c) for c in curps}
    linked: dict[str, str] = {}
    curp_of: dict[str, str] = {}  # registry id → CURP, for the people found by CURP
    with engine.connect() as conn:
        for chunk in _chunks(sorted(curps)):
            query = select(Person.id, Person.curp).where(Person.curp.in_(chunk))
            curp_of.update((str(i), str(c)) for i, c in conn.execute(query))
        if agreement_id:
            keys = [(agreement_id, r) for r in sorted(references)]
            for part in _chunks(keys):
                query = select(SourceRecord.reference_id, SourceRecord.person_id).where(
                    tuple_(SourceRecord.agreement_id, SourceRecord.reference_id).in_(part)
                )
                for reference, person_id in conn.execute(query):
                    linked[str(reference)] = str(person_id)
    ids.update(curp_of)
    ids.update(linked.values())
    distinct: set[tuple[str, str]] = set()
    for n, (curp, reference) in enumerate(who):
        if curp:
            distinct.add(("curp", curp))
        elif reference in linked:  # the same person as an item naming her CURP, if one does
            person_id = linked[reference]
            found = curp_of.get(person_id)
            distinct.add(("curp", found) if found else ("id", person_id))
        else:
            distinct.add(("folio", reference or f"#{n}"))
    return SetPeople(
        tuple(sorted(str(i) for i in ids)), len(items), True, len(distinct), dict(record)
    )
