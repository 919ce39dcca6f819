"""Agreement versions the hub audited as loaded: their exact bytes, kept for restarts.

A file that breaks while a worker runs keeps its last good version in that worker's memory
(``hub.agreements.loader``); a new process has no memory. So the bytes of every version the
audit log records as loaded (``AGREEMENT_CHANGED`` ``alta``/``modificación``, see
``hub.worker.changes``) are stored here, keyed by agreement id and SHA-256, in the transaction
that appends the entry. At start-up a worker asks :class:`StoredVersions` for a broken file's
last good version: the stored bytes whose digest the agreement's last entry names, parsed again
(the demo-key and production checks apply), so every worker and every restart keep the same
version in force. The stored ``kind`` also tells which removed agreements were padrón ones
(``hub.worker.removed``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
    select,
    tuple_,
)
from sqlalchemy.engine import Engine

from hub.agreements.loader import AgreementFileError, LoadedAgreement, parse_agreement
from hub.audit.chain import Action
from hub.audit.store import audit_log
from hub.db import Base

__all__ = [
    "LastEntry",
    "StoredVersion",
    "StoredVersions",
    "agreement_versions",
    "kinds_of",
    "last_good_entries",
    "store_versions",
    "stored_keys",
    "stored_kinds",
]

_log = logging.getLogger(__name__)

agreement_versions = Table(
    "agreement_versions",
    Base.metadata,
    Column("agreement_id", String(255), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("file", String(255), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("agreement_id", "sha256"),
)


@dataclass(frozen=True)
class StoredVersion:
    """A stored agreement version: what the hub audited as loaded, byte for byte."""

    agreement_id: str
    sha256: str
    file: str
    kind: str
    content: bytes


@dataclass(frozen=True)
class LastEntry:
    """The latest ``AGREEMENT_CHANGED`` entry of an agreement id, and the kind last recorded."""

    sequence: int
    change: str
    file: str
    sha256: str
    kind: str  # "" when no entry of the id recorded it (entries written before it was)


def last_good_entries(conn: Connection, only: str | None = None) -> dict[str, LastEntry]:
    """The latest ``AGREEMENT_CHANGED`` entry of every agreement id (``only``: that id)."""
    query = (
        select(audit_log.c.sequence, audit_log.c.agreement_id, audit_log.c.details)
        .where(audit_log.c.action == Action.AGREEMENT_CHANGED.value)
        .order_by(audit_log.c.sequence)
    )
    if only is not None:
        query = query.where(audit_log.c.agreement_id == only)
    latest: dict[str, LastEntry] = {}
    for row in conn.execute(query):
        details = json.loads(row.details)
        if not row.agreement_id or not details.get("sha256"):
            continue
        before = latest.get(row.agreement_id)
        kind = str(details.get("kind") or (before.kind if before is not None else ""))
        latest[row.agreement_id] = LastEntry(
            int(row.sequence),
            str(details.get("change", "")),
            str(details.get("file", "")),
            str(details["sha256"]),
            kind,
        )
    return latest


def stored_keys(conn: Connection, keys: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """Of the ``(agreement_id, sha256)`` pairs, those whose bytes are stored."""
    wanted = sorted(set(keys))
    found: set[tuple[str, str]] = set()
    c = agreement_versions.c
    for start in range(0, len(wanted), 400):
        chunk = wanted[start : start + 400]
        query = select(c.agreement_id, c.sha256).where(tuple_(c.agreement_id, c.sha256).in_(chunk))
        found.update((row.agreement_id, row.sha256) for row in conn.execute(query))
    return found


def stored_kinds(conn: Connection, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The kind of each stored ``(agreement_id, sha256)`` version among ``keys``."""
    wanted = sorted(set(keys))
    kinds: dict[tuple[str, str], str] = {}
    c = agreement_versions.c
    for start in range(0, len(wanted), 400):
        chunk = wanted[start : start + 400]
        query = select(c.agreement_id, c.sha256, c.kind).where(
            tuple_(c.agreement_id, c.sha256).in_(chunk)
        )
        kinds.update({(row.agreement_id, row.sha256): row.kind for row in conn.execute(query)})
    return kinds


def store_versions(conn: Connection, versions: Iterable[LoadedAgreement]) -> list[StoredVersion]:
    """Store the bytes of the ``versions`` not stored yet, in ``conn``'s transaction (the one
    that appends their ``AGREEMENT_CHANGED`` entries, under the audit log's lock); those added.

    Only versions read from a file whose bytes match their digest are stored.
    """
    candidates = {
        (v.agreement.id, v.sha256): v
        for v in versions
        if not v.stored and v.raw and hashlib.sha256(v.raw).hexdigest() == v.sha256
    }
    if not candidates:
        return []
    missing = sorted(set(candidates) - stored_keys(conn, candidates))
    now = dt.datetime.now(dt.UTC)
    added = [
        StoredVersion(
            key[0],
            key[1],
            candidates[key].path.name,
            candidates[key].agreement.kind,
            candidates[key].raw,
        )
        for key in missing
    ]
    if added:
        conn.execute(
            agreement_versions.insert(),
            [
                {
                    "agreement_id": v.agreement_id,
                    "sha256": v.sha256,
                    "file": v.file,
                    "kind": v.kind,
                    "content": v.content,
                    "recorded_at": now,
                }
                for v in added
            ],
        )
    return added


class StoredVersions:
    """The last good version of a broken agreement file, from the stored versions.

    For a file that does not load: the agreement whose latest ``AGREEMENT_CHANGED`` entry is an
    ``alta`` or ``modificación`` of that file name, in the stored bytes whose SHA-256 that entry
    names, parsed again (every check of the loader applies: a stored version that no longer
    passes them stays out). None when there is no such entry or no such bytes (a version audited
    before the hub stored them). Called by ``AgreementSet`` (see ``last_good`` there).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._reported: set[tuple[str, str]] = set()
        #: Versions already parsed, by (file, agreement id, sha256): a set reloads every few
        #: seconds while the file stays broken; the log is read each time, the bytes once.
        self._parsed: dict[tuple[str, str, str], LoadedAgreement | None] = {}

    def __call__(self, path: Path) -> LoadedAgreement | None:
        with self.engine.connect() as conn:
            entries = [
                (entry.sequence, agreement_id, entry)
                for agreement_id, entry in last_good_entries(conn).items()
                if entry.file == path.name and entry.change != "baja"
            ]
            if not entries:
                return None
            _sequence, agreement_id, entry = max(entries)
            key = (str(path), agreement_id, entry.sha256)
            if key in self._parsed:
                return self._parsed[key]
            c = agreement_versions.c
            row = conn.execute(
                select(c.content).where(c.agreement_id == agreement_id, c.sha256 == entry.sha256)
            ).first()
        if row is None:
            return None
        found = self._check(path, agreement_id, entry, bytes(row.content))
        if len(self._parsed) >= 256:
            self._parsed.clear()
        self._parsed[key] = found
        return found

    def _check(
        self, path: Path, agreement_id: str, entry: LastEntry, content: bytes
    ) -> LoadedAgreement | None:
        if hashlib.sha256(content).hexdigest() != entry.sha256:
            self._once(
                (agreement_id, entry.sha256),
                "la versión guardada de %s (%s) no coincide con su huella sha256 %s (la tabla "
                "agreement_versions se alteró): no se pone en vigor; corrija el archivo del "
                "convenio",
                path.name,
                agreement_id,
                entry.sha256[:12],
            )
            return None
        try:
            agreement = parse_agreement(path, content)
        except AgreementFileError as exc:
            self._once(
                (agreement_id, entry.sha256),
                "la última versión buena guardada de %s (%s, sha256 %s) ya no pasa las "
                "revisiones del hub y no se pone en vigor (corrija el archivo del convenio):\n%s",
                path.name,
                agreement_id,
                entry.sha256[:12],
                exc.render(),
            )
            return None
        if agreement.id != agreement_id:
            return None
        return LoadedAgreement(agreement, path, entry.sha256, content, stored=True)

    def _once(self, key: tuple[str, str], message: str, *args: object) -> None:
        if key not in self._reported:
            self._reported.add(key)
            _log.error(message, *args)


def kinds_of(conn: Connection, entries: Mapping[str, LastEntry]) -> dict[str, str]:
    """The kind of each agreement of ``entries``: recorded in its entries, else in its stored
    version; absent when neither says (entries and versions older than both)."""
    kinds = {agreement_id: e.kind for agreement_id, e in entries.items() if e.kind}
    unknown = {(i, e.sha256) for i, e in entries.items() if not e.kind}
    for (agreement_id, _sha), kind in stored_kinds(conn, unknown).items():
        kinds[agreement_id] = kind
    return kinds
