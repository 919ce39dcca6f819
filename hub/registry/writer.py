"""The registry writer: applies accepted change-set items in one transaction, idempotently.

Delivery is at-least-once (the broker has no transactions), so the writer first *claims* each
item in ``applied_items`` with ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` (the dialect's own
insert construct on PostgreSQL and SQLite): only the items that this call inserted are applied,
everything else is a duplicate and changes nothing. On PostgreSQL a concurrent writer claiming the
same item waits for the first to commit and then sees the conflict, so an item is applied once.

The rules of *what* an item does live in plain modules without I/O: :mod:`hub.registry.linking`
(people and source records) and :mod:`hub.registry.history` (enrollment history). This module
reads the rows they need, calls them, and writes their results with bulk statements.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from hub.errors import ConfigurationError, SisiError
from hub.registry.bulk import BulkInsert
from hub.registry.history import ACTIVA, EnrollmentEvent, Span, fold
from hub.registry.items import (
    ChangeItem,
    ChangeSetHeader,
    as_utc,
    centavos,
    version,
    version_prefix,
)
from hub.registry.linking import LinkPlan, clean_curp
from hub.registry.models import (
    AppliedItem,
    BenefitPaid,
    Delivery,
    Enrollment,
    Person,
    PersonLink,
    Program,
    SourceRecord,
)

__all__ = ["ApplyResult", "RegistryWriter", "RejectedItem", "screen"]

Row = dict[str, Any]
_OPERATIONS = frozenset({"ALTA", "CAMBIO", "BAJA", "PAGO"})
_ATTEMPTS = 5
_IN_CHUNK = 5000  # values per IN (...) list: far below SQLite's and PostgreSQL's limits
_EVENT_FIELDS = EnrollmentEvent._fields
_SPAN_FIELDS = Span._fields

_APPLIED: Table = AppliedItem.__table__  # type: ignore[assignment]
_PEOPLE: Table = Person.__table__  # type: ignore[assignment]
_RECORDS: Table = SourceRecord.__table__  # type: ignore[assignment]
_LINKS: Table = PersonLink.__table__  # type: ignore[assignment]
_ENROLLMENTS: Table = Enrollment.__table__  # type: ignore[assignment]
_PAID: Table = BenefitPaid.__table__  # type: ignore[assignment]
_PROGRAMS: Table = Program.__table__  # type: ignore[assignment]
_DELIVERIES: Table = Delivery.__table__  # type: ignore[assignment]


class _ConcurrentClaimError(Exception):
    """Another writer applied some of these items at the same time (internal: apply retries)."""


@dataclass(frozen=True, slots=True)
class RejectedItem:
    """An item the registry cannot apply, with the reason (for quarantine and the receipt)."""

    reference_id: str
    reason: str
    field: str | None = None


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """What one ``apply`` did: items applied, duplicates skipped, items rejected."""

    applied: int
    duplicates: int
    rejected: tuple[RejectedItem, ...] = ()
    applied_ids: tuple[str, ...] = ()
    duplicate_ids: tuple[str, ...] = ()
    people_created: int = 0


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


_event_values = itemgetter(*EnrollmentEvent._fields)


def _event(row: Any) -> EnrollmentEvent:
    return EnrollmentEvent(*_event_values(row))


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start : start + _IN_CHUNK]


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
        key = ("agreement_id", "reference_id", "message_id")
        self._bulk = {
            table.name: BulkInsert(
                table,
                [c.name for c in table.columns if c.autoincrement is not True],
                postgres=pg,
                conflict=key if table is _APPLIED else None,
            )
            for table in (_APPLIED, _PEOPLE, _RECORDS, _LINKS, _ENROLLMENTS, _PAID)
        }
        self._getters = {name: itemgetter(*b.columns) for name, b in self._bulk.items()}

    def _bulk_insert(self, conn: Connection, table: Table, rows: Iterable[Row]) -> int:
        get = self._getters[table.name]
        return self._bulk[table.name].execute(conn, [get(row) for row in rows])

    def _insert(self, table: Table) -> Any:
        return postgresql.insert(table) if self._pg else sqlite.insert(table)

    def apply(self, header: ChangeSetHeader, items: Iterable[ChangeItem]) -> ApplyResult:
        """Apply the accepted ``items`` of one change set; replays change nothing."""
        good, rejected = screen(items)
        unique: dict[str, ChangeItem] = {}
        repeated: list[str] = []
        for item in good:  # the same key twice in one batch: the first one counts
            if item["reference_id"] in unique:
                repeated.append(item["reference_id"])
            else:
                unique[item["reference_id"]] = item
        now = dt.datetime.now(dt.UTC)
        prefix = version_prefix(header)
        versioned = sorted(
            ((version(header, it, prefix), it) for it in unique.values()), key=_first
        )
        ledger = [_ledger_row(header, item, ver, now) for ver, item in versioned]
        plan: LinkPlan | None = None
        for attempt in range(_ATTEMPTS):
            try:
                with self.engine.begin() as conn:
                    claimed = self._claim(conn, header, ledger) if ledger else set()
                    fresh = [(v, it) for v, it in versioned if it["reference_id"] in claimed]
                    if fresh:
                        fresh_ledger = [r for r in ledger if r["reference_id"] in claimed]
                        plan = self._apply_fresh(conn, header, fresh, fresh_ledger, now)
                break
            except _ConcurrentClaimError:
                if attempt == _ATTEMPTS - 1:
                    raise SisiError(
                        f"el mensaje {header['message_id']} se está aplicando en otro proceso",
                        hint="reintente la entrega; los elementos ya aplicados no se duplican",
                    ) from None
        applied_ids = tuple(
            item["reference_id"] for _, item in versioned if item["reference_id"] in claimed
        )
        duplicate_ids = tuple(
            [item["reference_id"] for _, item in versioned if item["reference_id"] not in claimed]
            + repeated
        )
        return ApplyResult(
            applied=len(applied_ids),
            duplicates=len(duplicate_ids),
            rejected=tuple(rejected),
            applied_ids=applied_ids,
            duplicate_ids=duplicate_ids,
            people_created=len(plan.new_people) if plan else 0,
        )

    def _claim(self, conn: Connection, header: ChangeSetHeader, ledger: list[Row]) -> set[str]:
        """Insert the ledger rows not applied yet; returns their reference ids.

        Every item of a call shares one message, so one indexed query finds those already
        applied. A writer that claims the same items concurrently makes the insert count fall
        short (PostgreSQL waits for it and then skips the conflicting rows; SQLite refuses the
        stale write): the transaction is undone and :meth:`apply` starts over.
        """
        a = _APPLIED.c
        message = header["message_id"]
        refs = [row["reference_id"] for row in ledger]
        done: set[str] = set()
        for chunk in _chunks(refs):  # the key's (agreement, reference) prefix: one index range
            stmt = select(a.reference_id, a.message_id).where(
                a.agreement_id == header["agreement_id"], a.reference_id.in_(chunk)
            )
            done.update(ref for ref, msg in conn.execute(stmt) if msg == message)
        fresh = [row for row in ledger if row["reference_id"] not in done]
        inserted = self._bulk_insert(conn, _APPLIED, fresh)
        if inserted != len(fresh):
            raise _ConcurrentClaimError
        return {row["reference_id"] for row in fresh}

    def _apply_fresh(
        self,
        conn: Connection,
        header: ChangeSetHeader,
        fresh: list[tuple[str, ChangeItem]],
        ledger: list[Row],
        now: dt.datetime,
    ) -> LinkPlan:
        agreement = header["agreement_id"]
        sent_at = as_utc(header["sent_at"])
        self._ensure_programs(conn, {r["program_key"] for r in ledger if r["program_key"]})
        refs = [item["reference_id"] for _, item in fresh]
        records = self._select_in(conn, _RECORDS, _RECORDS.c.reference_id, refs, agreement)
        curps = sorted({c for _, it in fresh if (c := clean_curp(it)) is not None})
        people = self._select_in(conn, _PEOPLE, _PEOPLE.c.curp, curps)
        known = {p["id"] for p in people}
        linked = sorted({r["person_id"] for r in records} - known)
        people += self._select_in(conn, _PEOPLE, _PEOPLE.c.id, linked)

        plan = LinkPlan(agreement, now)
        plan.load(people, records)
        for ver, item in fresh:
            plan.apply(ver, item, sent_at)
        spans, stale = self._fold(conn, agreement, plan, ledger)

        self._write_people(conn, plan)
        self._write_records(conn, plan)
        self._write_links(conn, plan)
        self._write_enrollments(conn, agreement, plan, spans, stale)
        self._write_payments(conn, plan, fresh, header["message_id"])
        self._drop_orphans(conn, plan)
        self._record_delivery(conn, header, len(fresh), now)
        return plan

    def _select_in(
        self,
        conn: Connection,
        table: Table,
        column: Any,
        values: Sequence[Any],
        agreement: str | None = None,
    ) -> list[Row]:
        rows: list[Row] = []
        for chunk in _chunks(values):
            stmt = select(table).where(column.in_(chunk))
            if agreement is not None:
                stmt = stmt.where(table.c.agreement_id == agreement)
            rows.extend(dict(r) for r in conn.execute(stmt).mappings())
        return rows

    def _ensure_programs(self, conn: Connection, keys: set[str]) -> None:
        if keys:  # unknown programs get a placeholder name until the catalog is seeded
            rows = [{"key": k, "name": k, "coneval_key": None} for k in sorted(keys)]
            conn.execute(
                self._insert(_PROGRAMS).on_conflict_do_nothing(index_elements=["key"]), rows
            )

    def _fold(
        self, conn: Connection, agreement: str, plan: LinkPlan, ledger: list[Row]
    ) -> tuple[dict[str, list[Span]], list[int]]:
        """New enrollment history of every record the batch touched, and the rows it replaces."""
        events: dict[str, list[EnrollmentEvent]] = defaultdict(list)
        old: dict[str, list[tuple[int, Span]]] = defaultdict(list)
        for row in ledger:
            if row["reference_id"] in plan.new_records:
                events[row["reference_id"]].append(_event(row))
        existing = sorted(plan.dirty_records)
        if existing:  # out-of-order items must land where their date puts them: refold all
            columns = [_APPLIED.c[name] for name in ("reference_id", *_EVENT_FIELDS)]
            for chunk in _chunks(existing):
                where = (_APPLIED.c.agreement_id == agreement) & _APPLIED.c.reference_id.in_(chunk)
                for event_row in conn.execute(select(*columns).where(where)).mappings():
                    events[event_row["reference_id"]].append(_event(event_row))
                where = (_ENROLLMENTS.c.agreement_id == agreement) & (
                    _ENROLLMENTS.c.reference_id.in_(chunk)
                )
                stmt = select(_ENROLLMENTS).where(where)
                for state in conn.execute(stmt).mappings():
                    span = Span(*(state[name] for name in _SPAN_FIELDS))
                    old[state["reference_id"]].append((state["id"], span))
        spans: dict[str, list[Span]] = {}
        stale: list[int] = []
        for ref, ref_events in events.items():
            new = fold(ref_events)
            plan.records[ref]["active"] = bool(new) and new[-1].status == ACTIVA
            kept = set(new)
            keep_ids = {span: row_id for row_id, span in old.get(ref, []) if span in kept}
            stale += [row_id for row_id, span in old.get(ref, []) if keep_ids.get(span) != row_id]
            spans[ref] = [span for span in new if span not in keep_ids]
        return spans, stale

    def _write_people(self, conn: Connection, plan: LinkPlan) -> None:
        rows = [plan.people[pid] for pid in plan.new_people]
        if rows:
            self._bulk_insert(conn, _PEOPLE, rows)
        if plan.dirty_people:
            names = [c.name for c in _PEOPLE.columns if c.name not in ("id", "created_at")]
            stmt = (
                update(_PEOPLE)
                .where(_PEOPLE.c.id == bindparam("_id"))
                .values({n: bindparam(n) for n in names})
            )
            params = []
            for pid in plan.dirty_people:
                row = plan.people[pid]
                params.append({"_id": pid, **{n: row[n] for n in names}})
            conn.execute(stmt, params)

    def _write_records(self, conn: Connection, plan: LinkPlan) -> None:
        if plan.new_records:
            rows = [plan.records[ref] for ref in plan.new_records]
            self._bulk_insert(conn, _RECORDS, rows)
        if plan.dirty_records:
            keys = ("agreement_id", "reference_id")
            names = [c.name for c in _RECORDS.columns if c.name not in keys]
            stmt = (
                update(_RECORDS)
                .where(_RECORDS.c.agreement_id == bindparam("_agreement"))
                .where(_RECORDS.c.reference_id == bindparam("_ref"))
                .values({n: bindparam(n) for n in names})
            )
            params = []
            for ref in plan.dirty_records:
                row = plan.records[ref]
                params.append(
                    {
                        "_agreement": plan.agreement_id,
                        "_ref": ref,
                        **{n: row[n] for n in names},
                    }
                )
            conn.execute(stmt, params)

    def _write_links(self, conn: Connection, plan: LinkPlan) -> None:
        if plan.changed_links:
            stmt = delete(_LINKS).where(
                (_LINKS.c.agreement_id == bindparam("_agreement"))
                & (_LINKS.c.reference_id == bindparam("_ref"))
            )
            conn.execute(
                stmt, [{"_agreement": plan.agreement_id, "_ref": r} for r in plan.changed_links]
            )
        rows = plan.link_rows([*plan.new_records, *plan.changed_links])
        if rows:
            self._bulk_insert(conn, _LINKS, rows)
        for table in (_ENROLLMENTS, _PAID):
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
        self,
        conn: Connection,
        agreement: str,
        plan: LinkPlan,
        spans: dict[str, list[Span]],
        stale: list[int],
    ) -> None:
        for chunk in _chunks(stale):
            conn.execute(delete(_ENROLLMENTS).where(_ENROLLMENTS.c.id.in_(chunk)))
        rows = []
        for ref, ref_spans in spans.items():
            person_id = plan.records[ref]["person_id"]
            for span in ref_spans:
                row = span._asdict()
                row.update(person_id=person_id, agreement_id=agreement, reference_id=ref)
                rows.append(row)
        if rows:
            self._bulk_insert(conn, _ENROLLMENTS, rows)

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
            self._bulk_insert(conn, _PAID, rows)

    def _drop_orphans(self, conn: Connection, plan: LinkPlan) -> None:
        """People a relink left without any source record disappear (as if never linked)."""
        olds = sorted({r.old_person_id for r in plan.relinks})
        if not olds:
            return
        still = {
            row[0]
            for row in conn.execute(
                select(_RECORDS.c.person_id).where(_RECORDS.c.person_id.in_(olds)).distinct()
            )
        }
        gone = [pid for pid in olds if pid not in still]
        if gone:
            conn.execute(delete(_PEOPLE).where(_PEOPLE.c.id.in_(gone)))

    def _record_delivery(
        self, conn: Connection, header: ChangeSetHeader, applied: int, now: dt.datetime
    ) -> None:
        sent = as_utc(header["sent_at"])
        row = {
            "agreement_id": header["agreement_id"],
            "transaction_id": header["transaction_id"],
            "sender_id": header["sender_id"],
            "chunk_count": header["chunk_count"],
            "first_chunk_index": header["chunk_index"],
            "last_chunk_index": header["chunk_index"],
            "items_applied": applied,
            "first_sent_at": sent,
            "last_sent_at": sent,
            "first_applied_at": now,
            "last_applied_at": now,
        }
        least = func.least if self._pg else func.min  # SQLite's two-argument min() is scalar
        greatest = func.greatest if self._pg else func.max
        stmt = self._insert(_DELIVERIES).values(row)
        new = stmt.excluded
        t = _DELIVERIES.c
        stmt = stmt.on_conflict_do_update(
            index_elements=["agreement_id", "transaction_id"],
            set_={
                "chunk_count": greatest(t.chunk_count, new.chunk_count),
                "first_chunk_index": least(t.first_chunk_index, new.first_chunk_index),
                "last_chunk_index": greatest(t.last_chunk_index, new.last_chunk_index),
                "items_applied": t.items_applied + new.items_applied,
                "first_sent_at": least(t.first_sent_at, new.first_sent_at),
                "last_sent_at": greatest(t.last_sent_at, new.last_sent_at),
                "last_applied_at": new.last_applied_at,
            },
        )
        conn.execute(stmt)


def _first(pair: tuple[str, ChangeItem]) -> str:
    return pair[0]
