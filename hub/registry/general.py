"""The general path: items about records the registry already holds, or CURPs it already knows.

Such items need stored state: the record's current values, the people involved and, when an item
may land before others in order-key order, the record's whole ledger to re-fold its enrollment
history. This module reads those rows, runs the pure planners (:class:`~hub.registry.linking.
LinkPlan`, :func:`~hub.registry.history.fold`) and writes what changed: :meth:`GeneralPath.plan`
reads and links (it may refuse items: see :mod:`hub.registry.linking`), then the writer claims
the items not refused (their ledger rows) and :meth:`GeneralPath.write` writes.

**Writers at once.** The general path reads a record, its people and its ledger, folds them and
writes them back: two writers changing one record (a delivery's BAJA and PAGO on two partitions)
must not each write back what they read before the other's commit. SQLite's writer holds the
database's write lock. On PostgreSQL :meth:`GeneralPath.plan` locks the rows it reads until the
commit: first the batch's stored records, then every person involved (those its CURPs name and
those its records link to), each set in key order and read in its newest committed version.
Writers on other records and people go on at the same time (a global lock serialized every
payment, change and BAJA of every worker). A record or a person that does not exist yet cannot
be locked: two writers creating the same one collide on its key and one starts over.

``person_links`` keeps only links that carry information beyond the source record itself: the
deterministic links made here (by CURP, or a record's own person) are ``source_records.person_id``
and ``source_records.curp`` — a second row per record would repeat them (see
:func:`hub.registry.queries.record_links`). A record that moves to another person loses the link
evidence stored for its old person.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    Boolean,
    Connection,
    Date,
    DateTime,
    Table,
    bindparam,
    delete,
    select,
    update,
)

from hub.registry.bulk import BulkInsert, BulkKeyed, Lookup, driver
from hub.registry.history import ACTIVA, EnrollmentEvent, Span, fold
from hub.registry.items import ChangeItem, ChangeSetHeader, as_utc, centavos
from hub.registry.linking import LinkPlan, clean_curp
from hub.registry.models import (
    BENEFITS_PAID,
    ENROLLMENTS,
    PEOPLE,
    PERSON_LINKS,
    SOURCE_RECORDS,
)

__all__ = ["GeneralPath", "Row", "lock_rows"]

Row = dict[str, Any]
_EVENT_FIELDS = EnrollmentEvent._fields
_SPAN_FIELDS = Span._fields
_event_values = itemgetter(*_EVENT_FIELDS)


def _event(row: Any) -> EnrollmentEvent:
    return EnrollmentEvent(*_event_values(row))


_Reader = Callable[[Any], Any]


def _sqlite_readers(table: Table, columns: Sequence[str]) -> list[_Reader | None]:
    """How each of ``columns`` reads back from SQLite's storage (None: as stored)."""
    readers: list[_Reader | None] = []
    for name in columns:
        kind = table.c[name].type
        if isinstance(kind, DateTime):  # naive UTC text, as SQLAlchemy returns it on SQLite
            readers.append(dt.datetime.fromisoformat)
        elif isinstance(kind, Date):
            readers.append(dt.date.fromisoformat)
        elif isinstance(kind, Boolean):
            readers.append(bool)
        else:
            readers.append(None)
    return readers


@dataclass
class _SpanChanges:
    """How stored enrollment states become the re-folded ones, with the fewest row writes."""

    stale: list[tuple[str, dt.date]] = field(default_factory=list)  # (ref, valid_from): delete
    closed: list[tuple[str, dt.date, dt.date | None]] = field(default_factory=list)  # valid_to
    added: list[tuple[str, Span]] = field(default_factory=list)  # insert

    def compare(self, ref: str, old: list[Span], new: list[Span]) -> None:
        """Record the writes that turn ``old`` into ``new`` (one record's states)."""
        stored = {span.valid_from: span for span in old}
        wanted = {span.valid_from for span in new}
        self.stale += [(ref, day) for day in stored if day not in wanted]
        for span in new:
            before = stored.get(span.valid_from)
            if before == span:
                continue
            if before is not None and before._replace(valid_to=span.valid_to) == span:
                self.closed.append((ref, span.valid_from, span.valid_to))  # the usual roll
                continue
            if before is not None:
                self.stale.append((ref, span.valid_from))
            self.added.append((ref, span))


_LOCK_RECORDS = (
    "SELECT t.person_id FROM unnest(%b::text[], %b::text[]) AS k(agreement_id, reference_id) "
    "JOIN source_records AS t ON t.agreement_id = k.agreement_id "
    "AND t.reference_id = k.reference_id ORDER BY t.agreement_id, t.reference_id FOR UPDATE OF t"
)
_PEOPLE_OF_CURPS = (
    "SELECT t.id FROM unnest(%b::text[]) AS k(curp) JOIN people AS t ON t.curp = k.curp"
)
_LOCK_PEOPLE = (
    "SELECT t.id FROM unnest(%b::text[]) AS k(id) JOIN people AS t ON t.id = k.id "
    "ORDER BY t.id FOR UPDATE OF t"
)


def lock_rows(conn: Connection, records: Iterable[tuple[str, str]], curps: Iterable[str]) -> None:
    """PostgreSQL: lock, in one order for every writer, the stored records ``records``
    (agreement, reference) and every person they link to or ``curps`` name, to the commit.

    A transaction that applies several change sets (the hub applies a batch of them in one)
    would otherwise lock each set's rows in turn, and two writers whose batches meet the same
    rows in another order would deadlock. All records first (by agreement and reference), then
    all people (by id): the locks :meth:`GeneralPath.plan` takes later are held already.
    """
    pairs = sorted(set(records))
    if not pairs:
        return
    raw = driver(conn)
    with raw.cursor() as cursor:
        cursor.execute(_LOCK_RECORDS, ([a for a, _ in pairs], [r for _, r in pairs]))
        people = {row[0] for row in cursor.fetchall()}
        named = sorted(set(curps))
        if named:
            cursor.execute(_PEOPLE_OF_CURPS, (named,))
            people.update(row[0] for row in cursor.fetchall())
        if people:
            cursor.execute(_LOCK_PEOPLE, (sorted(people),))


class GeneralPath:
    """Applies items that need stored state (see module docstring), one dialect."""

    def __init__(self, bulk: dict[str, BulkInsert], ledger: Table, *, postgres: bool) -> None:
        self._bulk = bulk
        self._ledger = ledger
        self._postgres = postgres
        self._lookups: dict[tuple[str, tuple[str, ...], str, bool, bool], Lookup] = {}
        self._readers: dict[tuple[str, tuple[str, ...], str, bool, bool], list[_Reader | None]] = {}
        self._getters = {name: itemgetter(*b.columns) for name, b in bulk.items()}
        people = [c.name for c in PEOPLE.columns if c.name not in ("id", "created_at")]
        self._people = BulkKeyed(PEOPLE, ("id",), people, postgres=postgres)
        self._person_values = itemgetter(*people)
        keys = ("agreement_id", "reference_id")
        records = [c.name for c in SOURCE_RECORDS.columns if c.name not in keys]
        self._records = BulkKeyed(SOURCE_RECORDS, keys, records, postgres=postgres)
        self._record_values = itemgetter(*records)
        span_key = (*keys, "valid_from")
        self._stale = BulkKeyed(ENROLLMENTS, span_key, postgres=postgres)
        self._closed = BulkKeyed(ENROLLMENTS, span_key, ("valid_to",), postgres=postgres)

    def _insert(self, conn: Connection, table: Table, rows: Iterable[Row]) -> int:
        get = self._getters[table.name]
        return self._bulk[table.name].execute(conn, [get(row) for row in rows])

    def plan(
        self,
        conn: Connection,
        header: ChangeSetHeader,
        fresh: list[tuple[str, ChangeItem]],
        now: dt.datetime,
    ) -> LinkPlan:
        """Read what ``fresh`` (order-key order) is about and plan its links (no writes).

        Items the plan refuses (:attr:`LinkPlan.refused`) must not be claimed: the caller
        leaves them out of the ledger and of :meth:`write`.
        """
        agreement = header["agreement_id"]
        sent_at = as_utc(header["sent_at"])
        refs = sorted({item["reference_id"] for _, item in fresh})
        # PostgreSQL: the records, then the people, locked to the commit (see module docstring)
        records = self._select_in(
            conn, SOURCE_RECORDS, SOURCE_RECORDS.c.reference_id, refs, agreement, lock=True
        )
        curps = sorted({c for _, it in fresh if (c := clean_curp(it)) is not None})
        if self._postgres:
            found = self._read(conn, PEOPLE, ("id",), "curp", curps)
            ids = sorted({p["id"] for p in found} | {r["person_id"] for r in records})
            people = self._select_in(conn, PEOPLE, PEOPLE.c.id, ids, lock=True)
        else:
            people = self._select_in(conn, PEOPLE, PEOPLE.c.curp, curps)
            known = {p["id"] for p in people}
            linked = sorted({r["person_id"] for r in records} - known)
            people += self._select_in(conn, PEOPLE, PEOPLE.c.id, linked)

        plan = LinkPlan(agreement, now)
        plan.load(people, records)
        for ver, item in fresh:
            plan.apply(ver, item, sent_at)
        return plan

    def write(
        self,
        conn: Connection,
        header: ChangeSetHeader,
        plan: LinkPlan,
        fresh: list[tuple[str, ChangeItem]],
        ledger: list[Row],
    ) -> None:
        """Write what ``plan`` decided for ``fresh`` (claimed, not refused; ledger rows
        ``ledger`` already inserted)."""
        changes = self._fold(conn, header["agreement_id"], plan, ledger)
        self._write_people(conn, plan)
        self._write_records(conn, plan)
        self._write_links(conn, plan)
        self._write_enrollments(conn, header["agreement_id"], plan, changes)
        self._write_payments(conn, plan, fresh, header["message_id"])
        self._drop_orphans(conn, plan)

    def _read(
        self,
        conn: Connection,
        table: Table,
        columns: Sequence[str],
        key: str,
        values: Sequence[Any],
        agreement: str | None = None,
        *,
        lock: bool = False,
    ) -> list[Row]:
        """Rows of ``table`` whose ``key`` is in ``values`` (and of ``agreement``), as dicts.

        One statement per chunk of keys on the driver (:class:`Lookup`): PostgreSQL's driver
        returns typed values; on SQLite the stored text of dates and times (what SQLAlchemy and
        :mod:`hub.registry.bulk` write) and the 0/1 of booleans are turned back into Python
        values here, as SQLAlchemy would (it costs ~10 µs a row through its result objects).
        """
        if not values:
            return []
        spec = (table.name, tuple(columns), key, agreement is not None, lock)
        lookup = self._lookups.get(spec)
        if lookup is None:
            fixed = "agreement_id" if agreement is not None else None
            lookup = Lookup(
                table.name, columns, key, postgres=self._postgres, fixed=fixed, lock=lock
            )
            self._lookups[spec] = lookup
            if not self._postgres:
                self._readers[spec] = _sqlite_readers(table, columns)
        found = lookup.rows(conn, values, agreement)
        if self._postgres:
            return [dict(zip(columns, row, strict=True)) for row in found]
        readers = self._readers[spec]
        return [
            {
                name: value if read is None or value is None else read(value)
                for name, read, value in zip(columns, readers, row, strict=True)
            }
            for row in found
        ]

    def _select_in(
        self,
        conn: Connection,
        table: Table,
        column: Any,
        values: Sequence[Any],
        agreement: str | None = None,
        *,
        lock: bool = False,
    ) -> list[Row]:
        columns = [c.name for c in table.columns]
        return self._read(conn, table, columns, column.name, values, agreement, lock=lock)

    def _fold(
        self, conn: Connection, agreement: str, plan: LinkPlan, ledger: list[Row]
    ) -> _SpanChanges:
        """New enrollment history of every record the batch touched, and the rows it replaces."""
        events: dict[str, list[EnrollmentEvent]] = defaultdict(list)
        old: dict[str, list[Span]] = defaultdict(list)
        enrolling: set[str] = set()  # records with an item that may change their enrollment
        for row in ledger:
            ref = row["reference_id"]
            if ref in plan.new_records:
                events[ref].append(_event(row))
            if row["operation"] != "PAGO":
                enrolling.add(ref)
        # a PAGO does not change the enrollment (hub.registry.history): a stored record that got
        # only payments keeps its states and its ``active`` flag, and its ledger is not read
        # (re-folding it would read every item of its history for each monthly payment)
        existing = sorted(plan.dirty_records & enrolling)
        applied = self._ledger
        if existing:  # out-of-order items must land where their date puts them: refold all
            columns = ("reference_id", *_EVENT_FIELDS)
            for event_row in self._read(
                conn, applied, columns, "reference_id", existing, agreement
            ):
                events[event_row["reference_id"]].append(_event(event_row))
            columns = ("reference_id", *_SPAN_FIELDS)
            for state in self._read(
                conn, ENROLLMENTS, columns, "reference_id", existing, agreement
            ):
                old[state["reference_id"]].append(Span(*(state[n] for n in _SPAN_FIELDS)))
        changes = _SpanChanges()
        for ref, ref_events in events.items():
            new = fold(ref_events)
            plan.records[ref]["active"] = bool(new) and new[-1].status == ACTIVA
            changes.compare(ref, old.get(ref, []), new)
        return changes

    def _write_people(self, conn: Connection, plan: LinkPlan) -> None:
        rows = [plan.people[pid] for pid in plan.new_people]
        if rows:
            self._insert(conn, PEOPLE, rows)
        values = self._person_values
        people = plan.people
        self._people.execute(
            conn, [(*values(people[pid]), pid) for pid in sorted(plan.dirty_people)]
        )

    def _write_records(self, conn: Connection, plan: LinkPlan) -> None:
        if plan.new_records:
            rows = [plan.records[ref] for ref in plan.new_records]
            self._insert(conn, SOURCE_RECORDS, rows)
        values = self._record_values
        records = plan.records
        agreement = plan.agreement_id
        self._records.execute(
            conn,
            [(*values(records[ref]), agreement, ref) for ref in sorted(plan.dirty_records)],
        )

    def _write_links(self, conn: Connection, plan: LinkPlan) -> None:
        moved = [{"_agreement": plan.agreement_id, "_ref": r.reference_id} for r in plan.relinks]
        if moved:  # evidence about the old person no longer describes this record
            stmt = delete(PERSON_LINKS).where(
                (PERSON_LINKS.c.agreement_id == bindparam("_agreement"))
                & (PERSON_LINKS.c.reference_id == bindparam("_ref"))
            )
            conn.execute(stmt, moved)
        for table in (ENROLLMENTS, BENEFITS_PAID):
            if plan.relinks:
                relink = (
                    update(table)
                    .where(table.c.agreement_id == bindparam("_agreement"))
                    .where(table.c.reference_id == bindparam("_ref"))
                    .values(person_id=bindparam("_person"))
                )
                params = [
                    {
                        "_agreement": plan.agreement_id,
                        "_ref": r.reference_id,
                        "_person": r.new_person_id,
                    }
                    for r in plan.relinks
                ]
                conn.execute(relink, params)

    def _write_enrollments(
        self, conn: Connection, agreement: str, plan: LinkPlan, changes: _SpanChanges
    ) -> None:
        self._stale.execute(conn, [(agreement, ref, day) for ref, day in changes.stale])
        self._closed.execute(
            conn, [(until, agreement, ref, day) for ref, day, until in changes.closed]
        )
        rows = []
        for ref, span in changes.added:
            row = span._asdict()
            row.update(
                person_id=plan.records[ref]["person_id"], agreement_id=agreement, reference_id=ref
            )
            rows.append(row)
        if rows:
            self._insert(conn, ENROLLMENTS, rows)

    def _write_payments(
        self,
        conn: Connection,
        plan: LinkPlan,
        fresh: list[tuple[str, ChangeItem]],
        message_id: str,
    ) -> None:
        rows = []
        for _, item in fresh:
            benefit = item.get("benefit")
            if item["operation"] != "PAGO" or not benefit:
                continue
            geography = item.get("geography")
            rows.append(
                {
                    "person_id": plan.records[item["reference_id"]]["person_id"],
                    "program_key": benefit["clave_programa"],
                    "agreement_id": plan.agreement_id,
                    "reference_id": item["reference_id"],
                    "message_id": message_id,
                    "tipo_beneficio": benefit["tipo_beneficio"],
                    "monto_centavos": centavos(benefit["monto"]),
                    "fecha_beneficio": benefit.get("fecha_beneficio") or item["effective_date"],
                    "cve_ent": geography["cve_ent"] if geography else None,
                    "cve_mun": geography["cve_mun"] if geography else None,
                    "cve_loc": geography.get("cve_loc") if geography else None,
                }
            )
        if rows:
            self._insert(conn, BENEFITS_PAID, rows)

    def _drop_orphans(self, conn: Connection, plan: LinkPlan) -> None:
        """People a relink left without any source record disappear (as if never linked)."""
        olds = sorted({r.old_person_id for r in plan.relinks})
        if not olds:
            return
        still = {
            row[0]
            for row in conn.execute(
                select(SOURCE_RECORDS.c.person_id)
                .where(SOURCE_RECORDS.c.person_id.in_(olds))
                .distinct()
            )
        }
        gone = [pid for pid in olds if pid not in still]
        plan.removed_people.update(gone)
        if gone:
            conn.execute(delete(PERSON_LINKS).where(PERSON_LINKS.c.person_id.in_(gone)))
            conn.execute(delete(PEOPLE).where(PEOPLE.c.id.in_(gone)))
