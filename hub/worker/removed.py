"""Agreements given de baja (their file removed): their topics stay consumed, their sets refused.

A padrón agreement whose file leaves the directory is no longer loaded, but agencies (or their
retrying outboxes) may still publish to its topic. Every message must end in the registry or in
quarantine with a reason, so the worker keeps consuming the change-set topics of removed
agreements (:func:`removed_topics`) and the gatekeeper refuses their messages as
``CONVENIO_DADO_DE_BAJA`` instead of the generic ``CONVENIO_DESCONOCIDO``
(:class:`RemovalAwareGatekeeper`). The hub knows which agreements existed from the audit log's
``AGREEMENT_CHANGED`` entries (``hub.worker.changes``); a removed agreement's topic is kept when
the log (its entries' ``kind``, else the version the hub stored, ``hub.worker.versions``) says it
was a padrón agreement, so a worker that starts after the file was removed (while the hub was
down, or before any of its messages was read) consumes it too. For an agreement audited before
the log recorded kinds, the topic is kept when this worker subscribed to it or the ledger holds a
message read from it. A removed encuesta agreement, whose topic the hub never consumed, is not
picked up.

Why these refusals are **not authenticated and get no receipt**: a baja may be a revocation (a
leaked key, an agency that left): a key the operator withdrew must not make the hub publish
receipts, or claim message identities, in the agency's name. The hub does keep the bytes of the
agreement's last audited version (``hub.worker.versions``, for a file that breaks), but a removed
file is a withdrawal, not a mistake to ride out; and a copy kept in a worker's memory would
authenticate in one worker and not in another, or not after a restart. So the
message is refused like one for an unknown agreement: quarantined with its bytes and the reason,
in the ledger and the audit log, counted, with no receipt and no claim. Its agency's outbox still
waits for the answer, and nothing is lost: when the agreement is registered again, ``sisi
quarantine replay`` publishes the entry again (it checks the agreement is back, in force, and that
the signature verifies with its key); when the baja is final, the operator tells the agency.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from sqlalchemy import Connection, select
from sqlalchemy.engine import Engine

from hub.agreements.loader import AgreementSet
from hub.audit.chain import Action
from hub.audit.store import audit_log
from hub.gatekeeper.inspector import Gatekeeper, SchemaSource
from hub.gatekeeper.ledger import processed_messages
from hub.gatekeeper.reasons import CONVENIO_DADO_DE_BAJA, CONVENIO_DESCONOCIDO, describe
from hub.gatekeeper.verdict import Refusal, Verdict
from hub.topics import agreement_changes
from hub.validation.geography import GeoCatalog
from hub.worker.versions import kinds_of, last_good_entries

__all__ = [
    "REMOVED_CACHE_SECONDS",
    "Removal",
    "RemovalAwareGatekeeper",
    "agreement_of",
    "removed_agreements",
    "removed_detail",
    "removed_topics",
]

_log = logging.getLogger(__name__)

#: How long a gatekeeper trusts what it read about an id from the audit log.
REMOVED_CACHE_SECONDS = 30.0
#: Most ids a gatekeeper remembers (then it forgets them all and reads again).
_CACHE_LIMIT = 1024


@dataclass(frozen=True)
class Removal:
    """What the audit log knows of an agreement that is not loaded now: its last change."""

    agreement_id: str
    change: str  # "baja" once recorded; else the last alta/modificación (baja not yet recorded)
    file: str
    sequence: int
    recorded_at: dt.datetime


def removed_agreements(
    conn: Connection, loaded: Iterable[str], only: str | None = None
) -> dict[str, Removal]:
    """Agreements the audit log recorded that are not among the ``loaded`` ids, by id (``only``:
    just that id)."""
    loaded_ids = set(loaded)
    query = (
        select(
            audit_log.c.sequence,
            audit_log.c.agreement_id,
            audit_log.c.recorded_at,
            audit_log.c.details,
        )
        .where(audit_log.c.action == Action.AGREEMENT_CHANGED.value)
        .order_by(audit_log.c.sequence)
    )
    if only is not None:
        query = query.where(audit_log.c.agreement_id == only)
    latest: dict[str, Removal] = {}
    for row in conn.execute(query):
        if not row.agreement_id or row.agreement_id in loaded_ids:
            continue
        details = json.loads(row.details)
        latest[row.agreement_id] = Removal(
            row.agreement_id,
            str(details.get("change", "")),
            str(details.get("file", "")),
            int(row.sequence),
            row.recorded_at,
        )
    return latest


def removed_topics(
    engine: Engine, loaded: Iterable[str], subscribed: Iterable[str] = ()
) -> list[str]:
    """The change-set topics to keep consuming for removed agreements, sorted.

    A removed agreement's topic is kept when the audit log or the stored versions say it was a
    padrón agreement, when it is ``subscribed`` now (this worker consumed it), or, when its kind
    was never recorded, when the ledger holds a message read from it.
    """
    keep = set(subscribed)
    topics: set[str] = set()
    with engine.connect() as conn:
        removed = removed_agreements(conn, loaded)
        entries = last_good_entries(conn)
        kinds = kinds_of(conn, {i: e for i, e in entries.items() if i in removed})
        for agreement_id in removed:
            topic = agreement_changes(agreement_id)
            kind = kinds.get(agreement_id)
            if topic in keep or kind == "padron":
                topics.add(topic)
                continue
            if kind is not None:  # an encuesta agreement: the hub never consumed its topic
                continue
            c = processed_messages.c
            if conn.execute(select(c.id).where(c.topic == topic).limit(1)).first() is not None:
                topics.add(topic)
    return sorted(topics)


def agreement_of(topic: str) -> str:
    """The agreement id of a change-set topic (``sisi.agreement.<id>.changesets``)."""
    return topic.removeprefix("sisi.agreement.").removesuffix(".changesets")


def removed_detail(removal: Removal) -> str:
    """The detail of a ``CONVENIO_DADO_DE_BAJA`` refusal: which agreement, since when."""
    when = removal.recorded_at
    if when.tzinfo is None:  # SQLite gives UTC back without its zone
        when = when.replace(tzinfo=dt.UTC)
    stamp = when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    name = f" ({removal.file})" if removal.file else ""
    if removal.change == "baja":
        return (
            f"'{removal.agreement_id}'{name} se retiró del directorio de convenios del hub "
            f"(bitácora de auditoría, entrada {removal.sequence}, {stamp})"
        )
    return (
        f"'{removal.agreement_id}'{name} ya no está en el directorio de convenios del hub "
        f"(su última versión registrada: bitácora de auditoría, entrada {removal.sequence})"
    )


class RemovalAwareGatekeeper(Gatekeeper):
    """The gatekeeper, refusing a removed agreement's messages as ``CONVENIO_DADO_DE_BAJA``.

    Only the reason of an unauthenticated ``CONVENIO_DESCONOCIDO`` refusal changes (see the
    module docstring): the checks of :meth:`Gatekeeper.inspect` are untouched. What the audit
    log says of an id is read when such a refusal happens, and kept for
    ``REMOVED_CACHE_SECONDS`` or until the agreements reload.
    """

    def __init__(
        self,
        agreements: AgreementSet,
        schema_resolver: SchemaSource,
        geo_catalog: GeoCatalog,
        *,
        engine: Engine,
        today: dt.date | None = None,
        reload_interval: float = 5.0,
    ) -> None:
        super().__init__(
            agreements, schema_resolver, geo_catalog, today=today, reload_interval=reload_interval
        )
        self.engine = engine
        self._removals: dict[str, tuple[float, Removal | None]] = {}

    def refresh(self, *, force: bool = False) -> bool:
        reloaded = super().refresh(force=force)
        if reloaded:
            self._removals.clear()
        return reloaded

    def removal(self, agreement_id: str) -> Removal | None:
        """The audit log's last change of ``agreement_id`` if it existed and is not loaded."""
        now = time.monotonic()
        cached = self._removals.get(agreement_id)
        if cached is not None and now - cached[0] < REMOVED_CACHE_SECONDS:
            return cached[1]
        if agreement_id in self.agreements:
            found = None
        else:
            with self.engine.connect() as conn:
                removals = removed_agreements(conn, self.agreements.ids, agreement_id)
            found = removals.get(agreement_id)
        if len(self._removals) >= _CACHE_LIMIT:  # ids in headers are the sender's to choose
            self._removals.clear()
        self._removals[agreement_id] = (now, found)
        return found

    def inspect(self, topic: str, value: bytes, headers: Mapping[str, bytes]) -> Verdict:
        verdict = super().inspect(topic, value, headers)
        refusal = verdict.refusal
        if (
            refusal is None
            or refusal.code != CONVENIO_DESCONOCIDO
            or verdict.agreement_id is None
            or verdict.authenticated
        ):
            return verdict
        removal = self.removal(verdict.agreement_id)
        if removal is None:
            return verdict
        text = describe(CONVENIO_DADO_DE_BAJA, removed_detail(removal))
        return replace(verdict, refusal=Refusal(CONVENIO_DADO_DE_BAJA, text))
