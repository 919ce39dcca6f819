"""Questions asked of the registry: who was enrolled, what was paid, one person, totals.

These read personal data; callers that serve people outside the hub must audit each read
(invariant 5) — the audit stage wraps these functions, they do not audit by themselves.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, case, func, or_, select
from sqlalchemy.engine import Engine

from hub.errors import SisiError
from hub.registry.models import (
    BENEFITS_PAID,
    ENROLLMENTS,
    PEOPLE,
    PERSON_LINKS,
    PROGRAMS,
    SOURCE_RECORDS,
    AppliedItem,
    Delivery,
)

__all__ = [
    "EnrolledPerson",
    "Payment",
    "PaymentReport",
    "PersonReport",
    "RecordLink",
    "RegistryQueryError",
    "cvegeo_parts",
    "enrolled_in",
    "known_program",
    "month_range",
    "paid_in",
    "person_by_curp",
    "record_links",
    "stats",
    "year_range",
]


class RegistryQueryError(SisiError):
    """A registry question is malformed (month, CVEGEO, year)."""


@dataclass(frozen=True, slots=True)
class EnrolledPerson:
    """A person as lists show them: registry id, CURP and names."""

    person_id: str
    curp: str | None
    primer_apellido: str
    segundo_apellido: str | None
    nombre: str


@dataclass(frozen=True, slots=True)
class Payment:
    """One benefit payment with the geography it counts in (CVEGEO of 2, 5 or 9 digits)."""

    person_id: str
    curp: str | None
    agreement_id: str
    reference_id: str
    fecha_beneficio: dt.date
    tipo_beneficio: str
    monto: Decimal
    cvegeo: str


@dataclass(frozen=True, slots=True)
class PaymentReport:
    """Payments of a program in a territory and year, and their total in pesos.

    ``repeated`` counts the payments found more than once: the same padrón row, date, type and
    amount under different messages. The registry is idempotent per message, so a payment an
    agency sends again in a new delivery is stored twice; both stay in ``rows`` and ``total``
    (two real payments look the same), and this number tells the operator to check them.
    """

    rows: tuple[Payment, ...]
    total: Decimal
    repeated: int = 0


@dataclass(frozen=True, slots=True)
class PersonReport:
    """Everything the registry holds about one person."""

    person: dict[str, Any]
    programs: tuple[dict[str, Any], ...]  # program, name, status today
    history: tuple[dict[str, Any], ...]  # every enrollment state, oldest first
    payments: tuple[dict[str, Any], ...]


@dataclass(frozen=True, slots=True)
class RecordLink:
    """Evidence that a source record is a person: method (``curp``, ``registro``…) and score."""

    agreement_id: str
    reference_id: str
    person_id: str
    method: str
    score: float


def record_links(engine: Engine, agreement_id: str, reference_id: str) -> list[RecordLink]:
    """Every link of one source record, the one in force first.

    The link in force is the record's own ``person_id``: by CURP when the record has one,
    otherwise to a person of its own (``registro``), both with score 1.0 — it is not stored twice.
    ``person_links`` adds the evidence that carries more (other methods, scores below 1).
    """
    r, link = SOURCE_RECORDS.c, PERSON_LINKS.c
    with engine.connect() as conn:
        record = conn.execute(
            select(r.person_id, r.curp).where(
                r.agreement_id == agreement_id, r.reference_id == reference_id
            )
        ).first()
        if record is None:
            return []
        method = "curp" if record.curp is not None else "registro"
        links = [RecordLink(agreement_id, reference_id, record.person_id, method, 1.0)]
        stored = conn.execute(
            select(link.person_id, link.method, link.score)
            .where(link.agreement_id == agreement_id, link.reference_id == reference_id)
            .order_by(link.score.desc(), link.person_id)
        )
        for person_id, stored_method, score in stored:
            if (person_id, stored_method) != (record.person_id, method):
                links.append(
                    RecordLink(agreement_id, reference_id, person_id, stored_method, score)
                )
    return links


def month_range(month: str) -> tuple[dt.date, dt.date]:
    """``"YYYY-MM"`` as [first day, first day of the next month)."""
    match = re.fullmatch(r"([0-9]{4})-([0-9]{2})", month)
    year, mon = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
    if not 1 <= mon <= 12 or not 1 <= year < dt.MAXYEAR:
        raise RegistryQueryError(
            f"mes inválido {month!r}",
            field="mes",
            hint="escriba el mes como AAAA-MM (año de 0001 a 9998), p. ej. 2025-03",
        )
    start = dt.date(year, mon, 1)
    end = dt.date(year + (mon == 12), mon % 12 + 1, 1)
    return start, end


def known_program(engine: Engine, program_key: str) -> tuple[str, str]:
    """``program_key`` as the catalog writes it, and its name; an error naming close keys.

    A key the catalog does not hold would answer "nobody" and "nothing paid", which reads as a
    fact about the program: callers serving people check the key first.
    """
    wanted = program_key.strip()
    with engine.connect() as conn:
        catalog = {key: name for key, name in conn.execute(select(PROGRAMS.c.key, PROGRAMS.c.name))}
    if wanted in catalog:
        return wanted, catalog[wanted]
    same = [key for key in catalog if key.upper() == wanted.upper()]
    if len(same) == 1:
        return same[0], catalog[same[0]]
    close = difflib.get_close_matches(wanted.upper(), sorted(catalog), n=3, cutoff=0.6)
    if close:
        hint = f"¿quiso decir {' o '.join(close)}?"
    elif catalog:
        shown = sorted(catalog)
        more = f" (y {len(shown) - 12} más)" if len(shown) > 12 else ""
        hint = f"use una clave del catálogo: {', '.join(shown[:12])}{more}"
    else:
        hint = "el catálogo está vacío: ningún convenio ha entregado todavía elementos"
    raise RegistryQueryError(
        f"el programa {program_key!r} no está en el catálogo del registro",
        field="programa",
        hint=hint,
    )


def enrolled_in(engine: Engine, program_key: str, month: str) -> list[EnrolledPerson]:
    """People with an ACTIVA state in ``program_key`` on at least one day of ``month``."""
    start, end = month_range(month)
    e = ENROLLMENTS.c
    ids = (
        select(e.person_id)
        .where(
            e.program_key == program_key,
            e.status == "ACTIVA",
            e.valid_from < end,
            or_(e.valid_to.is_(None), e.valid_to > start),
        )
        .distinct()
    )
    p = PEOPLE.c
    stmt = select(p.id, p.curp, p.primer_apellido, p.segundo_apellido, p.nombre).where(
        p.id.in_(ids)
    )
    with engine.connect() as conn:
        people = [EnrolledPerson(*row) for row in conn.execute(stmt)]
    # ordered here, not in SQL: databases put NULLs and Ñ in different places (SQLite: NULL
    # first, Ñ after Z; PostgreSQL: NULL last, Ñ where its collation says)
    people.sort(key=_alphabetical)
    return people


def _spanish(text: str | None) -> str:
    """A sort key for a normalized name: Ñ between N and O, nothing before something."""
    return (text or "").replace("Ñ", "N\x7f")


def _alphabetical(person: EnrolledPerson) -> tuple[str, str, str, str]:
    return (
        _spanish(person.primer_apellido),
        _spanish(person.segundo_apellido),
        _spanish(person.nombre),
        person.person_id,
    )


def _record_of(table: Table) -> ColumnElement[bool]:
    """Join condition: the source record that rows of ``table`` (agreement, reference) belong to."""
    r = SOURCE_RECORDS.c
    return and_(r.agreement_id == table.c.agreement_id, r.reference_id == table.c.reference_id)


def cvegeo_parts(cvegeo: str) -> tuple[str, ...]:
    if not re.fullmatch(r"[0-9]{2}(?:[0-9]{3}(?:[0-9]{4})?)?", cvegeo):
        raise RegistryQueryError(
            f"CVEGEO inválida {cvegeo!r}",
            field="cvegeo",
            hint="use 2 cifras 0-9 (entidad), 5 (municipio) o 9 (localidad), p. ej. 07 o 07089",
        )
    return tuple(part for part in (cvegeo[:2], cvegeo[2:5], cvegeo[5:9]) if part)


def year_range(year: int) -> tuple[dt.date, dt.date]:
    """``year`` as [1 January, 1 January of the next year)."""
    if not 1 <= year < dt.MAXYEAR:
        raise RegistryQueryError(
            f"año inválido {year}", field="año", hint="escriba el año con 4 cifras, p. ej. 2025"
        )
    return dt.date(year, 1, 1), dt.date(year + 1, 1, 1)


def _address_on_payment_date(lived: Any) -> ColumnElement[bool]:
    """Join condition: the enrollment state (``lived``) whose address a payment without its own
    geography counts at — the newest with an address opened on or before the payment date, or
    else the first with an address (states of one record never overlap: one row at most)."""
    b = BENEFITS_PAID.c

    def opened(*, newest_by_payment_date: bool) -> Any:
        e = ENROLLMENTS.alias()
        where = [
            e.c.agreement_id == b.agreement_id,
            e.c.reference_id == b.reference_id,
            e.c.cve_ent.is_not(None),
        ]
        if newest_by_payment_date:
            day: Any = func.max(e.c.valid_from)
            where.append(e.c.valid_from <= b.fecha_beneficio)
        else:
            day = func.min(e.c.valid_from)
        return select(day).where(*where).correlate(BENEFITS_PAID).scalar_subquery()

    when = func.coalesce(opened(newest_by_payment_date=True), opened(newest_by_payment_date=False))
    return and_(
        b.cve_ent.is_(None),
        lived.c.agreement_id == b.agreement_id,
        lived.c.reference_id == b.reference_id,
        lived.c.valid_from == when,
    )


def paid_in(engine: Engine, program_key: str, cvegeo: str, year: int) -> PaymentReport:
    """Every payment of ``program_key`` in the territory ``cvegeo`` during ``year``.

    A payment counts where its item said. An item without geography counts where its source
    record lived on the payment date: the address of the record's enrollment state in force that
    day (before the first address the record gave, that first one); a record without any
    enrollment state with an address counts at its current address. The current address alone
    would move past payments whenever a beneficiary moves.
    """
    parts = cvegeo_parts(cvegeo)
    start, end = year_range(year)
    b, r = BENEFITS_PAID.c, SOURCE_RECORDS.c
    lived = ENROLLMENTS.alias("lived")
    from_item = b.cve_ent.is_not(None)
    from_history = lived.c.cve_ent.is_not(None)
    geo = [
        case((from_item, own), (from_history, then), else_=rec)
        for own, then, rec in (
            (b.cve_ent, lived.c.cve_ent, r.cve_ent),
            (b.cve_mun, lived.c.cve_mun, r.cve_mun),
            (b.cve_loc, lived.c.cve_loc, r.cve_loc),
        )
    ]
    stmt = (
        select(
            b.person_id,
            PEOPLE.c.curp,
            b.agreement_id,
            b.reference_id,
            b.fecha_beneficio,
            b.tipo_beneficio,
            b.monto_centavos,
            *geo,
            b.message_id,
        )
        .join(SOURCE_RECORDS, _record_of(BENEFITS_PAID))
        .outerjoin(lived, _address_on_payment_date(lived))
        .join(PEOPLE, PEOPLE.c.id == b.person_id)
        .where(
            b.program_key == program_key,
            b.fecha_beneficio >= start,
            b.fecha_beneficio < end,
            *(column == part for column, part in zip(geo, parts, strict=False)),
        )
    )
    with engine.connect() as conn:
        # ordered here, not in SQL: a database collated by a locale orders identifiers its way
        found = sorted(conn.execute(stmt), key=lambda row: (row[4], row[2], row[3], row[-1]))
    rows = [
        Payment(
            pid,
            curp,
            agreement,
            ref,
            fecha,
            tipo,
            Decimal(cents).scaleb(-2),
            f"{ent or ''}{mun or ''}{loc or ''}",
        )
        for pid, curp, agreement, ref, fecha, tipo, cents, ent, mun, loc, _ in found
    ]
    total = sum((row.monto for row in rows), Decimal("0.00"))
    seen = Counter(
        (p.agreement_id, p.reference_id, p.fecha_beneficio, p.tipo_beneficio, p.monto) for p in rows
    )
    return PaymentReport(tuple(rows), total, sum(1 for n in seen.values() if n > 1))


def person_by_curp(engine: Engine, curp: str, today: dt.date | None = None) -> PersonReport | None:
    """The person with ``curp``: data, programs received, enrollment history and payments.

    Each program's ``status`` is the person's on ``today`` (default: the date today): ACTIVA,
    BAJA, or PENDIENTE when the enrollment takes effect later.
    """
    with engine.connect() as conn:
        person = (
            conn.execute(select(PEOPLE).where(PEOPLE.c.curp == curp.strip().upper()))
            .mappings()
            .first()
        )
        if person is None:
            return None
        e, r = ENROLLMENTS.c, SOURCE_RECORDS.c
        # a person's rows are found through their source records (indexed by person_id)
        history = [
            dict(row)
            for row in conn.execute(
                select(
                    e.program_key,
                    PROGRAMS.c.name.label("program_name"),
                    e.agreement_id,
                    e.reference_id,
                    e.status,
                    e.valid_from,
                    e.valid_to,
                    e.tipo_beneficio,
                    e.monto_centavos,
                    e.cve_ent,
                    e.cve_mun,
                    e.cve_loc,
                )
                .join(SOURCE_RECORDS, _record_of(ENROLLMENTS))
                .join(PROGRAMS, PROGRAMS.c.key == e.program_key)
                .where(r.person_id == person["id"])
                .order_by(e.valid_from, e.program_key, e.agreement_id, e.reference_id)
            ).mappings()
        ]
        b = BENEFITS_PAID.c
        payments = [
            dict(row)
            for row in conn.execute(
                select(
                    b.program_key,
                    b.agreement_id,
                    b.fecha_beneficio,
                    b.tipo_beneficio,
                    b.monto_centavos,
                )
                .join(SOURCE_RECORDS, _record_of(BENEFITS_PAID))
                .where(r.person_id == person["id"])
                .order_by(b.fecha_beneficio, b.agreement_id, b.reference_id, b.message_id)
            ).mappings()
        ]
    # one entry per program and agreement; a person may be in it through several padrón rows,
    # and is ACTIVA while today's state of any of them is. Items take effect up to a year ahead:
    # a program whose every state begins after today is PENDIENTE (not enrolled yet)
    today = today or dt.date.today()
    programs: dict[tuple[str, str], dict[str, Any]] = {}
    for state in history:
        key = (state["program_key"], state["agreement_id"])
        entry = programs.setdefault(
            key,
            {
                "program_key": state["program_key"],
                "program_name": state["program_name"],
                "agreement_id": state["agreement_id"],
                "status": "PENDIENTE" if state["valid_from"] > today else "BAJA",
            },
        )
        in_force = state["valid_from"] <= today and (
            state["valid_to"] is None or state["valid_to"] > today
        )
        if in_force and state["status"] == "ACTIVA":  # states come oldest first: the first
            entry["status"] = "ACTIVA"  # seen of a program decides PENDIENTE
    return PersonReport(dict(person), tuple(programs.values()), tuple(history), tuple(payments))


def stats(engine: Engine, today: dt.date | None = None) -> dict[str, Any]:
    """Totals for ``sisi registry stats``: people, active enrollments by program, payments.

    ``active_enrollments`` counts, per program, the people enrolled ``today`` (default: the
    date today): items may take effect up to a year ahead, so the newest state of a row is not
    always today's (an ALTA of next month is not enrolled yet, a BAJA of next month not out yet).
    """
    today = today or dt.date.today()
    e, b = ENROLLMENTS.c, BENEFITS_PAID.c
    with engine.connect() as conn:

        def count(table: Any) -> int:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())

        active = conn.execute(
            select(e.program_key, func.count(func.distinct(e.person_id)))
            .where(
                e.status == "ACTIVA",
                e.valid_from <= today,
                or_(e.valid_to.is_(None), e.valid_to > today),
            )
            .group_by(e.program_key)
            .order_by(e.program_key)
        ).all()
        paid_count, paid_cents = conn.execute(
            select(func.count(), func.coalesce(func.sum(b.monto_centavos), 0))
        ).one()
        return {
            "people": count(PEOPLE),
            "source_records": count(SOURCE_RECORDS),
            "active_enrollments": {str(key): int(n) for key, n in active},
            "payments": {"count": int(paid_count), "total": Decimal(int(paid_cents)).scaleb(-2)},
            "deliveries": count(Delivery.__table__),
            "applied_items": count(AppliedItem.__table__),
        }
