"""The registry writer: applies accepted change-set items in one transaction, idempotently.

Delivery is at-least-once (the broker has no transactions), so every item is first *claimed* in
``applied_items`` under invariant 2's key (agreement, message, reference): one indexed read finds
the items of this message already applied (duplicates: they change nothing) and the records that
already exist; the rest is inserted with a plain bulk insert. A concurrent writer that claims the
same items makes that insert fail (PostgreSQL: unique violation once the other commits; SQLite:
the write lock is taken before the read, so writers do not overlap at all): the transaction is
undone and :meth:`RegistryWriter.apply` starts over, finding them applied.

Claimed items take one of two paths (both in the same transaction):

- **fast** (:mod:`hub.registry.fresh`): items about records the registry does not hold yet whose
  CURP is new and unique in the batch — the common case of an initial load or a new beneficiary.
  Every row is built in one pass with no reads and inserted with one statement per table.
- **general** (:mod:`hub.registry.general`): everything else — existing records, known or shared
  CURPs, out-of-order items — read, planned with the pure rules and re-folded.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import psycopg
from sqlalchemy import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from hub.errors import ConfigurationError, SisiError
from hub.registry.batch import BatchStatements
from hub.registry.bulk import BulkInsert, Lookup, begin_write
from hub.registry.fresh import COLUMNS, FreshRows, build_fresh
from hub.registry.general import GeneralPath, Row, lock_rows
from hub.registry.items import (
    ChangeItem,
    ChangeSetHeader,
    centavos,
    version,
    version_prefix,
)
from hub.registry.linking import Relink, clean_curp
from hub.registry.models import (
    APPLIED_ITEMS,
    BENEFITS_PAID,
    ENROLLMENTS,
    PEOPLE,
    SOURCE_RECORDS,
)

__all__ = [
    "ApplyResult",
    "DeferredDeliveries",
    "PreparedItems",
    "RegistryWriter",
    "RejectedItem",
    "is_contention",
    "screen",
]

_OPERATIONS = frozenset({"ALTA", "CAMBIO", "BAJA", "PAGO"})
_ATTEMPTS = 5
_CONTENTION = (
    psycopg.errors.IntegrityError,
    psycopg.errors.DeadlockDetected,
    psycopg.errors.SerializationFailure,
    sqlite3.IntegrityError,
)


def is_contention(exc: BaseException) -> bool:
    """True when ``exc`` means another writer got there first: undo and start over.

    Bulk statements run on the driver, so its own errors arrive as well as SQLAlchemy's wrappers.
    """
    if isinstance(exc, _ConcurrentClaimError):
        return True
    if isinstance(exc, IntegrityError | OperationalError):
        exc = exc.orig if exc.orig is not None else exc
        if isinstance(exc, IntegrityError):
            return True
    if isinstance(exc, _CONTENTION):
        return True
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


class _ConcurrentClaimError(Exception):
    """Another writer applied some of these items at the same time (internal: apply retries)."""


@dataclass(frozen=True, slots=True)
class RejectedItem:
    """An item the registry cannot apply, with the reason (for quarantine and the receipt)."""

    reference_id: str
    reason: str
    field: str | None = None


#: Delivery counters kept for :meth:`RegistryWriter.record_deliveries` (statement parameters).
DeferredDeliveries = list[tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class PreparedItems:
    """Items of one change set ready to apply (see :meth:`RegistryWriter.prepare`)."""

    header: ChangeSetHeader
    versioned: list[tuple[str, ChangeItem]]  # (order key, item), sorted by order key
    repeated: tuple[str, ...]  # references seen earlier in the same change set
    rejected: tuple[RejectedItem, ...]  # items the registry cannot apply
    #: the rows of ``versioned`` as if every item were about a new record (the usual case),
    #: built before the write lock; used when the registry confirms it, else built again
    fresh: FreshRows | None = None
    prepared_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """What one ``apply`` did: items applied, duplicates skipped, items rejected."""

    applied: int
    duplicates: int
    rejected: tuple[RejectedItem, ...] = ()  # by prepare (screen), then ``refused``
    #: rejected only once the stored state was read (inside the transaction; see linking):
    #: a caller that reported ``prepare``'s rejections adds these
    refused: tuple[RejectedItem, ...] = ()
    applied_ids: tuple[str, ...] = ()
    duplicate_ids: tuple[str, ...] = ()
    people_created: int = 0
    fast_path: int = 0  # applied items that took the fast path (new records, new CURPs)
    #: source records that moved to another person (a CURP changed or learned), in order
    relinks: tuple[Relink, ...] = ()
    #: people a relink left without any source record, removed from the registry
    people_removed: frozenset[str] = frozenset()


def screen(items: Iterable[ChangeItem]) -> tuple[list[ChangeItem], list[RejectedItem]]:
    """Split items into those the registry can apply and those it must reject (pure)."""
    good: list[ChangeItem] = []
    bad: list[RejectedItem] = []
    for item in items:
        ref = str(item.get("reference_id") or "")
        person = item.get("person")
        if not ref:
            bad.append(RejectedItem(ref, "el elemento no tiene reference_id", "reference_id"))
        elif item.get("operation") not in _OPERATIONS:
            reason = (
                f"operación desconocida {item.get('operation')!r}; use ALTA, CAMBIO, BAJA o PAGO"
            )
            bad.append(RejectedItem(ref, reason, "operation"))
        elif not isinstance(item.get("effective_date"), dt.date):
            bad.append(RejectedItem(ref, "falta la fecha efectiva", "effective_date"))
        elif not person or not person.get("primer_apellido") or not person.get("nombre"):
            bad.append(RejectedItem(ref, "faltan el nombre o el primer apellido", "person"))
        elif item["operation"] == "PAGO" and not item.get("benefit"):
            reason = "un PAGO necesita el beneficio (programa, tipo y monto)"
            bad.append(RejectedItem(ref, reason, "benefit"))
        else:
            good.append(item)
    return good, bad


def _ledger_row(header: ChangeSetHeader, item: ChangeItem, ver: str, now: dt.datetime) -> Row:
    benefit = item.get("benefit")
    geography = item.get("geography")
    return {
        "agreement_id": header["agreement_id"],
        "message_id": header["message_id"],
        "reference_id": item["reference_id"],
        "transaction_id": header["transaction_id"],
        "operation": item["operation"],
        "effective_date": item["effective_date"],
        "version": ver,
        "program_key": benefit["clave_programa"] if benefit else None,
        "tipo_beneficio": benefit["tipo_beneficio"] if benefit else None,
        "monto_centavos": centavos(benefit["monto"]) if benefit else None,
        "titular": benefit.get("titular") if benefit else None,
        "cve_ent": geography["cve_ent"] if geography else None,
        "cve_mun": geography["cve_mun"] if geography else None,
        "cve_loc": geography.get("cve_loc") if geography else None,
        "applied_at": now,
    }


def _curp(item: ChangeItem) -> str | None:
    curp = item["person"].get("curp")
    return (curp.strip().upper() or None) if curp else None


@dataclass(frozen=True, slots=True)
class _Applied:
    claimed: frozenset[str]
    people_created: int
    fast: int
    relinks: tuple[Relink, ...] = ()
    removed: frozenset[str] = frozenset()
    refused: tuple[RejectedItem, ...] = ()  # decided on the stored state (see linking)


class RegistryWriter:
    """Applies accepted items to the registry at ``engine`` (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        if engine.dialect.name not in ("sqlite", "postgresql"):
            raise ConfigurationError(
                f"el registro no funciona sobre {engine.dialect.name}",
                hint="use una URL sqlite:/// o postgresql+psycopg://",
            )
        self.engine = engine
        self._pg = pg = engine.dialect.name == "postgresql"
        self._bulk = {
            table.name: BulkInsert(table, COLUMNS[table.name], postgres=pg)
            for table in (APPLIED_ITEMS, PEOPLE, SOURCE_RECORDS, ENROLLMENTS, BENEFITS_PAID)
        }
        self._ledger_tuple = itemgetter(*COLUMNS["applied_items"])
        self._seen = Lookup(
            "applied_items",
            ("reference_id", "message_id"),
            "reference_id",
            postgres=pg,
            fixed="agreement_id",
        )
        self._known_curps = Lookup("people", ("curp",), "curp", postgres=pg)
        self._general = GeneralPath(self._bulk, APPLIED_ITEMS, postgres=pg)
        self._batch = BatchStatements(postgres=pg)

    def apply(self, header: ChangeSetHeader, items: Iterable[ChangeItem]) -> ApplyResult:
        """Apply the accepted ``items`` of one change set; replays change nothing."""
        batch = list(items)
        for attempt in range(_ATTEMPTS):
            try:
                with self.engine.begin() as conn:
                    return self.apply_in(conn, header, batch)
            except Exception as exc:
                if not is_contention(exc):
                    raise
                if attempt == _ATTEMPTS - 1:
                    raise SisiError(
                        f"el mensaje {header['message_id']} se está aplicando en otro proceso",
                        hint="reintente la entrega; los elementos ya aplicados no se duplican",
                    ) from exc
        raise AssertionError("unreachable")

    def prepare(
        self, header: ChangeSetHeader, items: Iterable[ChangeItem], *, rows: bool = False
    ) -> PreparedItems:
        """The pure part of applying ``items``: screened, deduplicated, in order-key order.

        Needs no database, so a caller can do it before taking the write lock. With ``rows``, it
        also builds the registry rows the items make if all of them are ALTAs, on the guess that
        they are about new records and new CURPs (the usual case of an ALTA): :meth:`apply_in`
        then only checks that, under the lock.
        """
        good, rejected = screen(items)
        unique: dict[str, ChangeItem] = {}
        repeated: list[str] = []
        for item in good:  # the same key twice in one batch: the first one counts
            if item["reference_id"] in unique:
                repeated.append(item["reference_id"])
            else:
                unique[item["reference_id"]] = item
        prefix = version_prefix(header)
        versioned = sorted(
            ((version(header, it, prefix), it) for it in unique.values()), key=_first
        )
        if not rows or not versioned or any(it["operation"] != "ALTA" for _, it in versioned):
            # only ALTAs are usually about new records: payments, changes and BAJAs are about
            # stored ones (the general path), and rows built for them would be thrown away
            return PreparedItems(header, versioned, tuple(repeated), tuple(rejected))
        now = dt.datetime.now(dt.UTC)
        fresh = build_fresh(header, versioned, now, iso=not self._pg)
        return PreparedItems(header, versioned, tuple(repeated), tuple(rejected), fresh, now)

    def apply_in(
        self,
        conn: Connection,
        header: ChangeSetHeader,
        items: Iterable[ChangeItem] | PreparedItems,
        *,
        deliveries: DeferredDeliveries | None = None,
    ) -> ApplyResult:
        """Apply ``items`` inside the caller's open transaction on ``conn`` (no retry).

        For callers that commit the registry rows together with their own (the hub pipeline
        writes the audit entries and the ledger row in the same transaction). ``items`` may come
        from :meth:`prepare` (for this ``header``). When another writer claimed some of these
        items first, it raises an error for which :func:`is_contention` is true: the caller rolls
        back and starts over, and the items are then found applied. With ``deliveries``, the
        delivery's counters are not written here but kept there, for :meth:`record_deliveries`
        late in the caller's transaction (on PostgreSQL the delivery's row stays locked from the
        write to the commit: counting several change sets at the end keeps other writers going).
        """
        prepared = items if isinstance(items, PreparedItems) else self.prepare(header, items)
        if prepared.header is not header:
            raise ValueError("the prepared items belong to another change set")
        versioned, repeated, rejected = prepared.versioned, prepared.repeated, prepared.rejected
        done = _Applied(frozenset(), 0, 0)
        if versioned:
            now = prepared.prepared_at or dt.datetime.now(dt.UTC)
            done = self._apply_in(conn, header, versioned, now, deliveries, prepared.fresh)
        claimed = done.claimed
        applied_ids = tuple(
            it["reference_id"] for _, it in versioned if it["reference_id"] in claimed
        )
        refused = {r.reference_id for r in done.refused}
        duplicate_ids = tuple(
            [
                ref
                for _, it in versioned
                if (ref := it["reference_id"]) not in claimed and ref not in refused
            ]
            + list(repeated)
        )
        return ApplyResult(
            applied=len(applied_ids),
            duplicates=len(duplicate_ids),
            rejected=rejected + done.refused,
            refused=done.refused,
            applied_ids=applied_ids,
            duplicate_ids=duplicate_ids,
            people_created=done.people_created,
            fast_path=done.fast,
            relinks=done.relinks,
            people_removed=done.removed,
        )

    def _apply_in(
        self,
        conn: Connection,
        header: ChangeSetHeader,
        versioned: list[tuple[str, ChangeItem]],
        now: dt.datetime,
        deliveries: DeferredDeliveries | None = None,
        prebuilt: FreshRows | None = None,
    ) -> _Applied:
        """Claim, split and apply ``versioned`` inside the open transaction ``conn``.

        ``prebuilt``: the fast path's rows for all of ``versioned`` (from :meth:`prepare`), used
        when every item turns out to take the fast path.
        """
        begin_write(conn)
        agreement = header["agreement_id"]
        message = header["message_id"]
        refs = [item["reference_id"] for _, item in versioned]
        existing: set[str] = set()
        applied: set[str] = set()
        for ref, msg in self._seen.rows(conn, refs, agreement):
            existing.add(ref)
            if msg == message:
                applied.add(ref)
        fresh = [pair for pair in versioned if pair[1]["reference_id"] not in applied]
        if not fresh:
            return _Applied(frozenset(), 0, 0)
        # fast: new record, and a CURP that is new to the registry and unique in the batch
        new: list[tuple[str | None, tuple[str, ChangeItem]]] = []
        general: list[tuple[str, ChangeItem]] = []
        for pair in fresh:
            if pair[1]["reference_id"] in existing:
                general.append(pair)
            else:
                new.append((_curp(pair[1]), pair))
        curps = Counter(curp for curp, _ in new if curp is not None)
        candidates = [curp for curp, n in curps.items() if n == 1]
        known = {row[0] for row in self._known_curps.rows(conn, candidates)}
        fast: list[tuple[str, ChangeItem]] = []
        for curp, pair in new:
            if curp is None or (curps[curp] == 1 and curp not in known):
                fast.append(pair)
            else:
                general.append(pair)
        if general:  # the general path applies in order-key order
            general.sort(key=_first)
        if prebuilt is not None and len(fast) == len(versioned):
            rows = prebuilt  # fast keeps the order of versioned: the same items, the same rows
        else:
            rows = build_fresh(header, fast, now, iso=not self._pg)
        self._batch.ensure_programs(conn, rows.programs)

        ledger = self._bulk["applied_items"]
        if ledger.execute(conn, rows.applied_items, stored=True) != len(fast):
            raise _ConcurrentClaimError
        for name in ("people", "source_records", "enrollments", "benefits_paid"):
            self._bulk[name].execute(conn, getattr(rows, name), stored=True)
        created = len(rows.people)
        relinks: tuple[Relink, ...] = ()
        removed: frozenset[str] = frozenset()
        refused: tuple[RejectedItem, ...] = ()
        if general:
            # the general path locks the rows it reads and writes back (PostgreSQL; SQLite's
            # write lock already serializes writers): see hub.registry.general
            plan = self._general.plan(conn, header, general, now)
            if plan.refused:  # not claimed: a redelivery is judged again
                refused = tuple(
                    RejectedItem(ref, reason, "person.curp") for ref, reason in plan.refused.items()
                )
                general = [p for p in general if p[1]["reference_id"] not in plan.refused]
            general_ledger = [_ledger_row(header, it, ver, now) for ver, it in general]
            self._batch.ensure_programs(
                conn, {r["program_key"] for r in general_ledger if r["program_key"]}
            )
            claimed = ledger.execute(conn, [self._ledger_tuple(r) for r in general_ledger])
            if claimed != len(general):
                raise _ConcurrentClaimError
            if general:
                self._general.write(conn, header, plan, general, general_ledger)
            created += len(plan.new_people)
            relinks, removed = tuple(plan.relinks), frozenset(plan.removed_people)
        count = len(fast) + len(general)
        if deliveries is None:
            self._batch.record_delivery(conn, header, count, now)
        else:
            deliveries.append(self._batch.delivery_row(header, count, now))
        claimed_refs = frozenset(it["reference_id"] for _, it in (*fast, *general))
        return _Applied(claimed_refs, created, len(fast), relinks, removed, refused)

    def lock_stored(self, conn: Connection, prepared: Iterable[PreparedItems]) -> None:
        """PostgreSQL: before applying several change sets in one transaction, lock every stored
        record and person they may change, in one global order (see
        :func:`hub.registry.general.lock_rows`); a no-op on SQLite (its write lock)."""
        if not self._pg:
            return
        records: list[tuple[str, str]] = []
        curps: list[str] = []
        for one in prepared:
            agreement = one.header["agreement_id"]
            for _, item in one.versioned:
                records.append((agreement, item["reference_id"]))
                curp = clean_curp(item)
                if curp is not None:
                    curps.append(curp)
        lock_rows(conn, records, curps)

    def record_deliveries(self, conn: Connection, deliveries: DeferredDeliveries) -> None:
        """Write the delivery counters kept by :meth:`apply_in` (in the same transaction)."""
        self._batch.record_deliveries(conn, deliveries)
        deliveries.clear()


def _first(pair: tuple[str, ChangeItem]) -> str:
    return pair[0]
