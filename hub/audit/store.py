"""The audit log in the registry database: append a batch in one transaction, stream, head.

Appends are serialized on the single ``audit_chain_head`` row (``SELECT ... FOR UPDATE`` on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), so several hub worker processes can append at once
and still produce one chain without gaps. Events that carry an idempotency key already in the log
are skipped: a redelivered message adds nothing. The skip is decided under that lock before the
chain is extended (not by ``ON CONFLICT DO NOTHING`` at insert time), so a skipped event never
takes a sequence number. Each batch is signed once, on its last entry (see ``hub.audit.chain``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from psycopg.errors import UniqueViolation
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Connection,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    Select,
    String,
    Table,
    Text,
    inspect,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.engine import Engine, Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from hub.audit.chain import (
    GENESIS_HASH,
    Action,
    AuditEntry,
    AuditEvent,
    ChainHead,
    DamagedEntry,
    build_links,
    normalize_timestamp,
)
from hub.audit.headsig import fingerprint, sign_head
from hub.audit.keycheck import key_problem
from hub.audit.pseudonym import REFERENCE_PREFIX, ReferenceMask
from hub.audit.signing import sign_hashes
from hub.audit.verify import people_digest
from hub.db import Base
from hub.errors import SisiError

__all__ = [
    "AuditLog",
    "AuditLogDamagedError",
    "HubKeyRetiredError",
    "PersonalDataError",
    "audit_chain_head",
    "audit_log",
    "audit_read_subjects",
    "first_mismatched_key",
    "iter_entries",
    "iter_read_subjects",
    "mismatched_key",
    "personal_reads",
    "read_head",
    "recent_entries",
]

audit_log = Table(
    "audit_log",
    Base.metadata,
    Column("sequence", BigInteger, primary_key=True, autoincrement=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("actor", String(255), nullable=False),
    Column("action", String(64), nullable=False),
    Column("agreement_id", String(255)),
    Column("message_id", String(255)),
    Column("reference_id", String(255)),
    Column("purpose", Text),
    Column("details", Text, nullable=False),
    Column("prev_hash", LargeBinary(32), nullable=False),
    Column("entry_hash", LargeBinary(32), nullable=False),
    Column("signature", LargeBinary(64)),  # only on the last entry of each batch
    Column("idempotency_key", Text, unique=True),
    Index("ix_audit_log_agreement_id", "agreement_id", "message_id"),
    Index("ix_audit_log_action", "action"),
)

#: The registry person ids each list read (``sisi registry enrolled`` / ``paid``) showed, written
#: in the transaction of its PERSONAL_DATA_READ entry. The entry's details hold their count and
#: ``people_sha256`` (see :func:`hub.audit.verify.people_digest`), so the chain covers these rows:
#: ``sisi audit verify`` finds one deleted, added or changed. Keyed by person first, for the
#: question "who read my data"; the sequence index is verify's ordered scan.
audit_read_subjects = Table(
    "audit_read_subjects",
    Base.metadata,
    Column("sequence", BigInteger, nullable=False, autoincrement=False),
    Column("person_id", Text, nullable=False),
    PrimaryKeyConstraint("person_id", "sequence", name="pk_audit_read_subjects"),
    Index("ix_audit_read_subjects_sequence", "sequence"),
    sqlite_with_rowid=False,
)

audit_chain_head = Table(
    "audit_chain_head",
    Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("sequence", BigInteger, nullable=False),
    Column("entry_hash", LargeBinary(32), nullable=False),
    Column("signature", LargeBinary(64), nullable=False),
    Column("recorded_at", DateTime(timezone=True)),
    # migration 0011: the hub's signature over the whole head (hub.audit.headsig) and the id of
    # the key that made it, which is the key in force for the next batch; NULL on a head stored
    # before 0011 (its signature covers only entry_hash)
    Column("head_signature", LargeBinary(64)),
    Column("key_id", String(64)),
    CheckConstraint("id = 1", name="single_row"),
)

_KEY_CHUNK = 900  # bound parameters per idempotency look-up (SQLite allows 999 in old builds)
_KEY_CHUNK_PG = 5000
#: a CURP anywhere in a text (upper-cased first), not inside a longer run of letters and digits
#: A declared purpose names something: at least one word of three letters ("x", "…" do not).
_PURPOSE_WORD = re.compile(r"[^\W\d_]{3}")
_CURP_IN_TEXT = re.compile(
    r"(?<![A-Z0-9])[A-Z][AEIOUX][A-Z]{2}\d{6}[HMX][A-Z]{5}[0-9A-Z]\d(?![A-Z0-9])"
)


class PersonalDataError(SisiError, ValueError):
    """An audit entry would hold personal data in clear (or a read without a purpose)."""


_COLUMNS = [column.name for column in audit_log.columns]


def _utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else normalize_timestamp(moment)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _stored_moment(value: object) -> tuple[datetime, str | None]:
    """``recorded_at`` as stored (a datetime, or SQLite's text) and what is wrong with it."""
    moment = value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return _EPOCH, f"su recorded_at ({value!r}) no es una fecha y hora"
    if not isinstance(moment, datetime):
        return _EPOCH, f"su recorded_at ({value!r}) no es una fecha y hora"
    if moment.microsecond % 1000:
        return moment, (
            f"su recorded_at ({moment.isoformat()}) tiene fracciones de milisegundo, que el hub "
            "nunca escribe; la entrada fue editada"
        )
    return moment, None


def _stored_details(text: object) -> tuple[dict[str, str], str | None]:
    """``details`` as stored (JSON text) and what is wrong with it."""
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        value = None
    if isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        return value, None
    shown = text if not isinstance(text, str) or len(text) <= 80 else text[:77] + "..."
    return {}, (
        f"su columna details ({shown!r}) no es un objeto JSON de textos, como el hub la escribe; "
        "la entrada fue editada"
    )


def _row_to_entry(row: Row[Any]) -> AuditEntry:
    moment, bad_moment = _stored_moment(row.recorded_at)
    details, bad_details = _stored_details(row.details)
    fields = {
        "sequence": row.sequence,
        "recorded_at": moment,
        "actor": row.actor,
        "action": row.action,
        "agreement_id": row.agreement_id,
        "message_id": row.message_id,
        "reference_id": row.reference_id,
        "purpose": row.purpose,
        "details": details,
        "prev_hash": bytes(row.prev_hash),
        "entry_hash": bytes(row.entry_hash),
        "signature": None if row.signature is None else bytes(row.signature),
    }
    damage = bad_details or bad_moment
    if damage is not None:
        return DamagedEntry(**fields, damage=damage)
    return AuditEntry(**fields)


def _select_entries() -> Select[Any]:
    """All columns of the log; SQLite's timestamp as its stored text (parsed by
    :func:`_stored_moment`), so that an edited one is named instead of failing the read."""
    columns = [
        type_coerce(column, String).label(column.name) if column.name == "recorded_at" else column
        for column in audit_log.columns
    ]
    return select(*columns)


def _rows(
    entries: list[AuditEntry], details: list[str], keys: list[str | None], recorded_at: object
) -> Iterator[tuple[object, ...]]:
    """The rows in ``_COLUMNS`` order, for the driver directly (no per-value SQLAlchemy work)."""
    for entry, details_text, key in zip(entries, details, keys, strict=True):
        yield (
            entry.sequence,
            recorded_at,
            entry.actor,
            entry.action,
            entry.agreement_id,
            entry.message_id,
            entry.reference_id,
            entry.purpose,
            details_text,
            entry.prev_hash,
            entry.entry_hash,
            entry.signature,
            key,
        )


def _insert(
    conn: Connection, entries: list[AuditEntry], details: list[str], keys: list[str | None]
) -> None:
    """Write a batch (one timestamp) through the driver: COPY on PostgreSQL, executemany on SQLite.

    Going around SQLAlchemy's per-value processing roughly halves the cost of a large batch.
    """
    names = ", ".join(_COLUMNS)
    moment = entries[0].recorded_at
    if conn.dialect.name == "postgresql":
        driver = conn.connection.driver_connection
        assert driver is not None
        # COPY's text form of timestamptz, made once: the server parses it, psycopg just sends it.
        stamp = moment.isoformat()
        with driver.cursor() as cursor, cursor.copy(f"COPY audit_log ({names}) FROM STDIN") as copy:
            write = copy.write_row
            for row in _rows(entries, details, keys, stamp):
                write(row)
        return
    # SQLAlchemy's SQLite DateTime is text in this exact form (naive, UTC by our convention).
    stamp = moment.strftime("%Y-%m-%d %H:%M:%S.%f")
    marks = ", ".join("?" for _ in _COLUMNS)
    conn.exec_driver_sql(
        f"INSERT INTO audit_log ({names}) VALUES ({marks})",
        list(_rows(entries, details, keys, stamp)),
    )


def _insert_subjects(conn: Connection, sequence: int, person_ids: list[str]) -> None:
    """The person ids a list read showed, through the driver (COPY on PostgreSQL)."""
    if not person_ids:
        return
    if conn.dialect.name == "postgresql":
        driver = conn.connection.driver_connection
        assert driver is not None
        with (
            driver.cursor() as cursor,
            cursor.copy("COPY audit_read_subjects (sequence, person_id) FROM STDIN") as copy,
        ):
            write = copy.write_row
            for person_id in person_ids:
                write((sequence, person_id))
        return
    conn.exec_driver_sql(
        "INSERT INTO audit_read_subjects (sequence, person_id) VALUES (?, ?)",
        [(sequence, person_id) for person_id in person_ids],
    )


@contextmanager
def _savepoint(conn: Connection, *, raw: bool) -> Iterator[None]:
    """A savepoint; ``raw`` for our own ``BEGIN IMMEDIATE`` on SQLite, else SQLAlchemy's."""
    if not raw:
        with conn.begin_nested():
            yield
        return
    conn.exec_driver_sql("SAVEPOINT audit_append")
    try:
        yield
    except BaseException:
        conn.exec_driver_sql("ROLLBACK TO audit_append")
        conn.exec_driver_sql("RELEASE audit_append")
        raise
    conn.exec_driver_sql("RELEASE audit_append")


class AuditLogDamagedError(SisiError):
    """The log cannot be extended as it stands (its head row is missing): nothing is recorded."""


def _head_columns(conn: Connection) -> list[Column[Any]]:
    """The columns of ``audit_chain_head`` the database has: a database not yet migrated to 0011
    (a preserved copy being verified, an older hub's) has no head signature."""
    present = {column["name"] for column in inspect(conn).get_columns("audit_chain_head")}
    return [column for column in audit_chain_head.columns if column.name in present]


def _head_to_extend(
    conn: Connection, *, for_update: bool, columns: Sequence[Column[Any]] | None = None
) -> ChainHead:
    """The stored head the next batch follows (locked on PostgreSQL when ``for_update``).

    The row is made by the migration and only ever updated; without it the chain cannot go on,
    and guessing where it ended would hide a cut: the append fails with a clear error instead.
    """
    query = select(*(columns or audit_chain_head.columns)).where(audit_chain_head.c.id == 1)
    row = conn.execute(query.with_for_update() if for_update else query).one_or_none()
    if row is None:
        raise AuditLogDamagedError(
            "la bitácora de auditoría no tiene su cabeza (la fila de audit_chain_head falta): no "
            "se registró nada y la operación no se hizo",
            hint="ejecute `sisi audit verify` y avise al responsable de seguridad; no recree la "
            "fila a mano",
        )
    return _head_of(row)


def _head_of(row: Row[Any]) -> ChainHead:
    fields = row._mapping
    head_signature = fields.get("head_signature")
    return ChainHead(
        row.sequence,
        bytes(row.entry_hash),
        bytes(row.signature),
        _utc(row.recorded_at),
        None if head_signature is None else bytes(head_signature),
        fields.get("key_id"),
    )


class HubKeyRetiredError(SisiError):
    """The process signs with a key the log no longer has in force (it was rotated)."""


def _driver_in_transaction(conn: Connection) -> bool:
    """Whether the DBAPI connection under ``conn`` has a transaction open (SQLite)."""
    raw = conn.connection.driver_connection
    return bool(getattr(raw, "in_transaction", False))


class AuditLog:
    """The hub's audit log on ``engine``, signing with ``signing_key`` (see ``hub.audit.keys``).

    Every appended batch gets one signature, on its last entry. ``sign_each_entry=True`` signs
    every entry instead (the earlier design, ~30 µs an entry; kept to measure against); both
    kinds of log verify the same way.
    """

    def __init__(
        self,
        engine: Engine,
        signing_key: Ed25519PrivateKey,
        *,
        signing_threads: int = 2,
        sign_each_entry: bool = False,
    ) -> None:
        self._engine = engine
        self._key = signing_key
        self._key_id = fingerprint(signing_key)
        self._threads = signing_threads
        self._sign_each = sign_each_entry
        self._sqlite = engine.dialect.name == "sqlite"
        self._mask: ReferenceMask | None = None
        self._head_columns: list[Column[Any]] | None = None  # read once (before 0011: fewer)
        self._sign_all: Callable[[Sequence[bytes]], list[bytes]] = lambda hashes: sign_hashes(
            self._key, hashes, self._threads
        )

    @property
    def reference_mask(self) -> ReferenceMask:
        """How this log writes an item's reference (a CURP used as folio becomes a digest)."""
        if self._mask is None:
            self._mask = ReferenceMask(self._key)
        return self._mask

    @property
    def public_key(self) -> Ed25519PublicKey:
        """The public half of the signing key (what verifiers need)."""
        return self._key.public_key()

    def append(self, event: AuditEvent) -> AuditEntry | None:
        """Append one event; None when its idempotency key is already in the log."""
        entries = self.append_many([event])
        return entries[0] if entries else None

    def append_many(self, events: Iterable[AuditEvent]) -> list[AuditEntry]:
        """Append ``events`` in order in one transaction; returns the entries actually added."""
        batch = list(events)
        if not batch:
            return []
        return self._append_then(batch, None)

    def append_rotation(self, event: AuditEvent, new_key: Ed25519PrivateKey) -> AuditEntry:
        """Append ``event`` (a HUB_KEY_ROTATED entry naming ``new_key``) as a batch of its own.

        The entry is signed with this log's key (the one it retires); the stored head is signed
        with ``new_key`` and names it, which makes it the key in force: from then on an
        :class:`AuditLog` on the old key refuses to append (:class:`HubKeyRetiredError`).
        See ``hub.audit.rotation``.
        """
        return self._append_then([event], None, next_key=new_key)[0]

    def _append_then(
        self,
        batch: list[AuditEvent],
        then: Callable[[Connection, list[AuditEntry]], None] | None,
        *,
        next_key: Ed25519PrivateKey | None = None,
    ) -> list[AuditEntry]:
        """Append ``batch``; ``then`` writes more rows in the same transaction (it commits or
        rolls back with the entries)."""
        if self._sqlite:
            return self._append_sqlite(batch, then, next_key)
        with self._engine.begin() as conn:
            entries = self._append_locked(
                conn, batch, for_update=True, raw_savepoint=False, next_key=next_key
            )
            if then is not None:
                then(conn, entries)
            return entries

    def append_in(self, conn: Connection, events: Iterable[AuditEvent]) -> list[AuditEntry]:
        """Append within the caller's open transaction on ``conn`` (commit or roll back together).

        For writers that want their rows and the audit entries to land atomically. On SQLite the
        caller's transaction should have begun with ``BEGIN IMMEDIATE``: a deferred one that reads
        first can fail with "database is locked" when another process is writing.
        """
        batch = list(events)
        if not batch:
            return []
        if self._sqlite and _driver_in_transaction(conn):
            # the caller's transaction is open on the driver (BEGIN IMMEDIATE, or a first write):
            # a savepoint nests inside it, so the optimistic path below is safe
            return self._append_locked(conn, batch, for_update=False, raw_savepoint=True)
        if self._sqlite:
            # pysqlite manages the caller's transaction itself; a savepoint taken before its
            # first write would become the outermost transaction, so check every key instead.
            fresh, keys = self._not_yet_logged(conn, batch)
            if not fresh:
                return []
            head = _head_to_extend(conn, for_update=False, columns=self._columns(conn))
            return self._write(conn, head, fresh, keys)
        return self._append_locked(conn, batch, for_update=True, raw_savepoint=False)

    def _append_sqlite(
        self,
        batch: list[AuditEvent],
        then: Callable[[Connection, list[AuditEntry]], None] | None = None,
        next_key: Ed25519PrivateKey | None = None,
    ) -> list[AuditEntry]:
        # AUTOCOMMIT stops pysqlite from opening its own deferred transaction, so ours can be
        # IMMEDIATE: the write lock is taken before the head is read, not at the first insert.
        engine = self._engine.execution_options(isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                entries = self._append_locked(
                    conn, batch, for_update=False, raw_savepoint=True, next_key=next_key
                )
                if then is not None:
                    then(conn, entries)
            except BaseException:
                conn.exec_driver_sql("ROLLBACK")
                raise
            conn.exec_driver_sql("COMMIT")
            return entries

    def _append_locked(
        self,
        conn: Connection,
        batch: list[AuditEvent],
        *,
        for_update: bool,
        raw_savepoint: bool,
        next_key: Ed25519PrivateKey | None = None,
    ) -> list[AuditEntry]:
        head = _head_to_extend(conn, for_update=for_update, columns=self._columns(conn))
        keys = [event.idempotency_key for event in batch]
        present = [key for key in keys if key is not None]
        if len(set(present)) == len(present) and not self._logged(conn, present[:1]):
            # Optimistic path: a batch whose first key is new is almost always all new, so write
            # it without looking every key up; the unique key refuses it when it was not, and
            # the savepoint undoes the attempt (the chain head with it) before the slow path.
            try:
                with _savepoint(conn, raw=raw_savepoint):
                    return self._write(conn, head, batch, keys, next_key)
            except (IntegrityError, UniqueViolation):
                pass
        fresh, fresh_keys = self._not_yet_logged(conn, batch)
        if not fresh:
            return []
        return self._write(conn, head, fresh, fresh_keys, next_key)

    def _columns(self, conn: Connection) -> list[Column[Any]]:
        if self._head_columns is None:
            self._head_columns = _head_columns(conn)
        return self._head_columns

    def _write(
        self,
        conn: Connection,
        head: ChainHead,
        events: list[AuditEvent],
        keys: list[str | None],
        next_key: Ed25519PrivateKey | None = None,
    ) -> list[AuditEntry]:
        if head.key_id is not None and head.key_id != self._key_id:
            raise HubKeyRetiredError(
                f"este proceso firma la bitácora con la llave {self._key_id}, que ya no es la del "
                f"hub: la llave en vigor es la {head.key_id} (se rotó la llave); no se registró "
                "nada y la operación no se hizo",
                hint="reinicie este proceso para que cargue la llave nueva de "
                "<SISI_DATA_DIR>/keys/hub.key (`sisi audit keys` muestra la historia de llaves)",
            )
        entries, details = build_links(
            head, events, datetime.now(UTC), self._sign_all, sign_each=self._sign_each
        )
        _insert(conn, entries, details, keys)
        last = entries[-1]
        values: dict[str, object] = {
            "sequence": last.sequence,
            "entry_hash": last.entry_hash,
            "signature": last.signature,
            "recorded_at": last.recorded_at,
        }
        if len(self._columns(conn)) == len(audit_chain_head.columns):
            values["head_signature"], values["key_id"] = sign_head(
                next_key or self._key, last.sequence, last.entry_hash, last.recorded_at
            )
        elif next_key is not None:
            raise AuditLogDamagedError(
                "la base de datos no tiene las columnas de la cabeza firmada (migración 0011): "
                "no se puede rotar la llave del hub",
                hint="aplique las migraciones del hub (hub.db.migrate) y vuelva a intentar",
            )
        conn.execute(update(audit_chain_head).where(audit_chain_head.c.id == 1).values(values))
        return entries

    def _logged(self, conn: Connection, keys: list[str]) -> bool:
        """Whether any of ``keys`` (a handful) is already in the log."""
        if not keys:
            return False
        column = audit_log.c.idempotency_key
        query = select(column).where(column.in_(keys)).limit(1)
        return conn.execute(query).first() is not None

    def _not_yet_logged(
        self, conn: Connection, batch: list[AuditEvent]
    ) -> tuple[list[AuditEvent], list[str | None]]:
        """``batch`` without events whose key is in the log or earlier in the batch, and the keys.

        One indexed look-up for the whole batch (an array parameter on PostgreSQL).
        """
        batch_keys = [event.idempotency_key for event in batch]
        keys = list({key for key in batch_keys if key is not None})
        seen: set[str] = set()
        column = audit_log.c.idempotency_key
        postgres = conn.dialect.name == "postgresql"
        size = _KEY_CHUNK_PG if postgres else _KEY_CHUNK
        for start in range(0, len(keys), size):
            chunk = keys[start : start + size]
            if postgres:  # one array parameter instead of thousands of bound values
                found = conn.exec_driver_sql(
                    "SELECT idempotency_key FROM audit_log WHERE idempotency_key = ANY(%s)",
                    (chunk,),
                )
            else:
                found = conn.execute(select(column).where(column.in_(chunk)))
            seen.update(found.scalars())
        if not seen and len(keys) == sum(key is not None for key in batch_keys):
            return batch, batch_keys  # the common case: all new, no repeats within the batch
        fresh: list[AuditEvent] = []
        fresh_keys: list[str | None] = []
        for event, key in zip(batch, batch_keys, strict=True):
            if key is not None:
                if key in seen:
                    continue
                seen.add(key)
            fresh.append(event)
            fresh_keys.append(key)
        return fresh, fresh_keys

    def read_personal(
        self,
        actor: str,
        purpose: str,
        subject: str,
        details: dict[str, str] | None = None,
        *,
        agreement_id: str | None = None,
        people: Sequence[str] | None = None,
    ) -> AuditEntry:
        """Record that ``actor`` read ``subject``'s personal data for ``purpose`` (invariant 5).

        ``subject`` is the registry's person id, never a CURP: the log is not a place for personal
        data in clear (and it cannot be erased: an entry stays forever). A CURP anywhere in the
        entry (the purpose an operator typed, the subject, a detail) is refused with
        :class:`PersonalDataError` and nothing is recorded. Call this before handing the data out.
        ``agreement_id``: the agreement the data came from, when one (``audit list --agreement``).

        ``people``: for a read of a list (``subject`` then names the list, e.g.
        ``inscritos:S176:2026-11``), the registry person ids it shows. Each is written to
        ``audit_read_subjects`` in the entry's transaction, so "who read my data" finds the read;
        the entry's details get their count (``people``) and ``people_sha256``
        (:func:`hub.audit.verify.people_digest`), which puts the rows under the hash chain.
        """
        if not purpose.strip():
            raise PersonalDataError(
                "una consulta de datos personales requiere una finalidad declarada",
                field="purpose",
                hint="declare para qué consulta los datos personales",
            )
        if _PURPOSE_WORD.search(purpose) is None:
            shown = purpose.strip()
            raise PersonalDataError(
                f"la finalidad «{shown[:40]}» no dice para qué se consultan los datos",
                field="purpose",
                hint="escriba la finalidad concreta, p. ej. «aclaración de pago, solicitud 118»; "
                "la consulta no se registró ni se mostraron datos",
            )
        details = dict(details or {})
        listed: list[str] | None = None
        if people is not None:
            listed = sorted(set(people))
            bad = next((p for p in listed if not p or "\n" in p or p != p.strip()), None)
            if bad is not None:
                raise ValueError(f"a person id must be non-empty text on one line: {bad!r}")
            details["people"] = str(len(listed))
            details["people_sha256"] = people_digest(listed)
        elif "people_sha256" in details:
            raise ValueError("people_sha256 is written by read_personal from people=, not given")
        checked = [
            ("actor", actor),
            ("purpose", purpose),
            ("subject", subject),
            *sorted(details.items()),
        ]
        if listed:
            checked.append(("people", "\n".join(listed)))
        for field, value in checked:
            found = _CURP_IN_TEXT.search(value.upper())
            if found is None:
                continue
            masked = found.group()[:4] + "…"
            if field == "subject":
                message = (
                    f"el sujeto es una CURP ({masked}): registre el identificador del registro"
                )
            elif field == "people" and listed is not None:
                message = (
                    f"la lista de personas leídas contiene una CURP ({masked}): registre los "
                    "identificadores del registro"
                )
            else:
                message = (
                    f"contiene una CURP ({masked}); la bitácora no guarda datos personales y sus "
                    "entradas no se pueden borrar"
                )
            raise PersonalDataError(
                message,
                field=field,
                hint="describa la consulta sin la CURP (p. ej. con el folio de la solicitud); "
                "la consulta no se registró ni se mostraron datos",
            )
        event = AuditEvent(
            actor=actor,
            action=Action.PERSONAL_DATA_READ,
            agreement_id=agreement_id,
            purpose=purpose,
            details={**details, "subject": subject},
        )
        if listed is None:
            return self.append_many([event])[0]
        ids = listed

        def write_people(conn: Connection, entries: list[AuditEntry]) -> None:
            _insert_subjects(conn, entries[0].sequence, ids)

        return self._append_then([event], write_people)[0]

    def head(self) -> ChainHead:
        """The last link (sequence 0 and the genesis hash while the log is empty)."""
        with self._engine.connect() as conn:
            return read_head(conn)

    def iter_entries(self, start: int = 1, batch_size: int = 2000) -> Iterator[AuditEntry]:
        """Every entry from ``start`` on, in sequence order, streamed from the database."""
        yield from iter_entries(self._engine, start=start, batch_size=batch_size)

    def entries_for(self, sequences: Sequence[int]) -> list[AuditEntry]:
        """The entries with these sequence numbers (those that exist), in order."""
        query = _select_entries().where(audit_log.c.sequence.in_(list(sequences)))
        with self._engine.connect() as conn:
            rows = conn.execute(query.order_by(audit_log.c.sequence)).all()
        return [_row_to_entry(row) for row in rows]


def read_head(conn: Connection) -> ChainHead:
    """The chain head as stored next to the log."""
    query = select(*_head_columns(conn)).where(audit_chain_head.c.id == 1)
    row = conn.execute(query).one_or_none()
    if row is None or row.sequence == 0:
        return ChainHead(0, GENESIS_HASH, b"", None)
    return _head_of(row)


def first_mismatched_key(engine: Engine, *, batch_size: int = 5000) -> int | None:
    """The first entry whose stored idempotency key is not the one its content gives, or None.

    See :func:`mismatched_key` (which also says why).
    """
    found = mismatched_key(engine, batch_size=batch_size)
    return None if found is None else found[0]


def mismatched_key(engine: Engine, *, batch_size: int = 5000) -> tuple[int, str] | None:
    """The first entry whose stored idempotency key is not the one its content gives, and why.

    The key is not hashed into the chain (it only decides which events are skipped as logged), so
    the chain cannot show an edit of it; but every key the hub writes is a function of its entry
    (:func:`hub.audit.keycheck.key_problem`): anything else was written by someone other than the
    hub, and could make a later event vanish silently.
    """
    c = audit_log.c
    query = select(
        c.sequence,
        c.action,
        c.agreement_id,
        c.message_id,
        c.reference_id,
        c.details,
        c.idempotency_key,
    ).order_by(c.sequence)
    with engine.connect() as conn:
        rows = conn.execution_options(stream_results=True, yield_per=batch_size).execute(query)
        for sequence, action, agreement, message, reference, details, key in rows:
            problem = key_problem(action, agreement, message, reference, details, key)
            if problem is None and key is not None and "#" in key.rsplit("|", 1)[-1]:
                problem = _occurrence_problem(engine, int(sequence), key)
            if problem is not None:
                return int(sequence), problem
    return None


def _occurrence_problem(engine: Engine, sequence: int, key: str) -> str | None:
    """Why the n-th occurrence key ``base#n`` is wrong: occurrence n-1 must come before it."""
    base, _, number = key.rpartition("#")
    previous = base if int(number) == 2 else f"{base}#{int(number) - 1}"
    query = select(audit_log.c.sequence).where(
        audit_log.c.idempotency_key == previous, audit_log.c.sequence < sequence
    )
    with engine.connect() as conn:
        if conn.execute(query).first() is not None:
            return None
    return (
        f"su clave de idempotencia ({key!r}) dice que es la ocurrencia {number} de su elemento, "
        f"pero no hay antes una entrada con la clave {previous!r}"
    )


def iter_entries(engine: Engine, *, start: int = 1, batch_size: int = 2000) -> Iterator[AuditEntry]:
    """Stream the log on ``engine`` in sequence order (server-side cursor on PostgreSQL)."""
    query = _select_entries().where(audit_log.c.sequence >= start).order_by(audit_log.c.sequence)
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=batch_size).execute(query)
        for row in result:
            yield _row_to_entry(row)


def recent_entries(
    engine: Engine,
    *,
    action: str | None = None,
    agreement_id: str | None = None,
    limit: int = 20,
) -> list[AuditEntry]:
    """The last ``limit`` entries, of one action and/or agreement if given, oldest first."""
    query = _select_entries()
    if action is not None:
        query = query.where(audit_log.c.action == action)
    if agreement_id is not None:
        query = query.where(audit_log.c.agreement_id == agreement_id)
    query = query.order_by(audit_log.c.sequence.desc()).limit(limit)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [_row_to_entry(row) for row in reversed(rows)]


def iter_read_subjects(
    engine: Engine, *, batch_size: int = 10000
) -> Iterator[tuple[int, list[str]]]:
    """``audit_read_subjects`` grouped by entry, in sequence order.

    One ordered scan (the sequence index; a server-side cursor on PostgreSQL). The ids of a
    group come in the database's order: :func:`hub.audit.verify.people_digest` sorts them.
    """
    s = audit_read_subjects.c
    query = select(s.sequence, s.person_id).order_by(s.sequence)
    with engine.connect() as conn:
        rows = conn.execution_options(stream_results=True, yield_per=batch_size).execute(query)
        current: int | None = None
        ids: list[str] = []
        for sequence, person_id in rows:
            if sequence != current:
                if current is not None:
                    yield current, ids
                current, ids = int(sequence), []
            ids.append(person_id)
        if current is not None:
            yield current, ids


def absorbed_ids(engine: Engine, person_id: str) -> list[str]:
    """``person_id`` and every registry id whose records all moved to it, directly or not.

    A relink that left its old person without records (``RECORD_RELINKED`` with
    ``persona_anterior_eliminada``: a CURP corrected or learned) moved that person's data here:
    reads made under the old id read what is now this person's. A person who kept other records
    is someone else and keeps her own reads.
    """
    c = audit_log.c
    found = [person_id]
    pending = [person_id]
    with engine.connect() as conn:
        while pending:
            target = pending.pop()
            moved = '"a_persona":' + json.dumps(target, ensure_ascii=False)
            rows = conn.execute(
                select(c.details).where(
                    c.action == Action.RECORD_RELINKED.value,
                    c.details.contains(moved, autoescape=True),
                )
            ).scalars()
            for text in rows:
                details = json.loads(text)
                old = details.get("de_persona")
                if (
                    details.get("a_persona") == target
                    and details.get("persona_anterior_eliminada") == "true"
                    and isinstance(old, str)
                    and old not in found
                ):
                    found.append(old)
                    pending.append(old)
    return found


#: The subject of a look-up of a CURP the registry did not hold (``registry person``, ``reads``).
_NO_MATCH = "sin-coincidencia"


def personal_reads(
    engine: Engine, person_id: str | None, curp_hmac: str | None = None
) -> list[tuple[AuditEntry, str]]:
    """Every PERSONAL_DATA_READ entry that read one person, oldest first, with how it did.

    The person is her registry id ``person_id`` (with the ids :func:`absorbed_ids` merged into
    it) and/or the digest ``curp_hmac`` of her CURP (:func:`hub.audit.pseudonym.curp_digest`),
    which finds reads that named her CURP under a registry id she no longer has.
    How: ``persona`` (``sisi registry person`` of her, under this id or found by her CURP),
    ``lista`` (a read whose ``audit_read_subjects`` rows name her id or her CURP's digest: a
    list, a quarantined set shown) or ``curp`` (a look-up of her CURP that found nobody then).
    """
    c, s = audit_log.c, audit_read_subjects.c
    ids = absorbed_ids(engine, person_id) if person_id is not None else []
    subjects = list(ids)
    if curp_hmac is not None:
        subjects.append(REFERENCE_PREFIX + curp_hmac)
    if not subjects:
        return []
    listed = select(s.sequence).where(s.person_id.in_(subjects))
    found: list[ColumnElement[bool]] = [c.sequence.in_(listed)]
    for one in ids:
        subject = '"subject":' + json.dumps(one, ensure_ascii=False)
        found.append(c.details.contains(subject, autoescape=True))
    if curp_hmac is not None:
        digest = '"curp_hmac":' + json.dumps(curp_hmac)
        found.append(c.details.contains(digest, autoescape=True))
    query = (
        _select_entries()
        .where(c.action == Action.PERSONAL_DATA_READ.value, or_(*found))
        .order_by(c.sequence)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
        in_lists = set(conn.execute(listed).scalars())
    reads = []
    for row in rows:
        entry = _row_to_entry(row)
        details = entry.details
        by_digest = curp_hmac is not None and details.get("curp_hmac") == curp_hmac
        if details.get("subject") in ids:
            reads.append((entry, "persona"))
        elif by_digest and details.get("subject") != _NO_MATCH:
            reads.append((entry, "persona"))  # of her, under a registry id she had then
        elif entry.sequence in in_lists:
            reads.append((entry, "lista"))
        elif by_digest:
            reads.append((entry, "curp"))
    return reads
