"""The fast path: every row that items about *new* padrón rows produce, built in one pass (pure).

Most items a hub sees are the first item of a source record (an agency's initial load, new
beneficiaries): no stored state to read, nothing to re-fold. For those the writer skips the general
planner (:mod:`hub.registry.linking` + :mod:`hub.registry.history`) and takes the rows from
:func:`build_fresh`, which makes plain tuples in the column order of :data:`COLUMNS`, ready for
``executemany`` or ``COPY``. The rules are the general ones specialised to "no record, no person,
one event" (a test checks that both paths store the same state):

- the person is new: registry id from :func:`new_person_id`, fields from the item;
- the record links to it by CURP (``curp``) or by itself (``registro``, no CURP);
- the history is ``fold([event])``: one span unless the item is a PAGO or names no program;
- a PAGO adds its payment.

``iso=True`` writes dates and times as the text SQLAlchemy stores on SQLite; otherwise values stay
Python objects (PostgreSQL's COPY adapts them).
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hub.fields import PERSON_FIELDS
from hub.registry.items import ChangeItem, ChangeSetHeader, centavos, normalize_name

__all__ = ["COLUMNS", "FreshRows", "build_fresh", "new_person_id", "sqlite_time"]

Values = tuple[Any, ...]

#: Column order of the tuples :func:`build_fresh` makes, per table.
COLUMNS: dict[str, tuple[str, ...]] = {
    "applied_items": (
        "agreement_id",
        "reference_id",
        "message_id",
        "transaction_id",
        "operation",
        "effective_date",
        "version",
        "program_key",
        "tipo_beneficio",
        "monto_centavos",
        "titular",
        "cve_ent",
        "cve_mun",
        "cve_loc",
        "applied_at",
    ),
    "people": ("id", *PERSON_FIELDS, "version", "created_at", "updated_at"),
    "source_records": (
        "agreement_id",
        "reference_id",
        "person_id",
        "curp",
        "link_version",
        "version",
        "geo_version",
        "cve_ent",
        "cve_mun",
        "cve_loc",
        "domicilio",
        "active",
        "first_seen_at",
        "last_seen_at",
    ),
    "enrollments": (
        "person_id",
        "program_key",
        "agreement_id",
        "reference_id",
        "status",
        "valid_from",
        "valid_to",
        "tipo_beneficio",
        "monto_centavos",
        "titular",
        "cve_ent",
        "cve_mun",
        "cve_loc",
        "message_id",
    ),
    "benefits_paid": (
        "person_id",
        "program_key",
        "agreement_id",
        "reference_id",
        "message_id",
        "tipo_beneficio",
        "monto_centavos",
        "fecha_beneficio",
        "cve_ent",
        "cve_mun",
        "cve_loc",
    ),
}


def new_person_id() -> str:
    """A registry id: 32 hex digits, milliseconds first, then 80 random bits.

    Time-ordered ids land at the right edge of the primary-key and ``person_id`` indexes instead
    of at random pages, which keeps bulk inserts fast as the registry grows; the random part keeps
    ids unique across writer processes.
    """
    return f"{time.time_ns() // 1_000_000:012x}{os.urandom(10).hex()}"


def sqlite_time(moment: dt.datetime) -> str:
    """An aware or naive-UTC datetime as SQLAlchemy stores it on SQLite (naive UTC text)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


@dataclass
class FreshRows:
    """Rows of every table for a batch of items about new records, in :data:`COLUMNS` order."""

    applied_items: list[Values] = field(default_factory=list)
    people: list[Values] = field(default_factory=list)
    source_records: list[Values] = field(default_factory=list)
    enrollments: list[Values] = field(default_factory=list)
    benefits_paid: list[Values] = field(default_factory=list)
    programs: set[str] = field(default_factory=set)


def build_fresh(
    header: ChangeSetHeader,
    items: Sequence[tuple[str, ChangeItem]],
    now: dt.datetime,
    *,
    iso: bool,
) -> FreshRows:
    """All rows for ``(version, item)`` pairs whose records and CURPs are new to the registry.

    Each reference id and each CURP must occur once in ``items`` (the writer guarantees it).
    """
    out = FreshRows()
    ledger, people, records = out.applied_items, out.people, out.source_records
    spans, payments = out.enrollments, out.benefits_paid
    agreement = header["agreement_id"]
    message = header["message_id"]
    transaction = header["transaction_id"]
    if iso:
        now_v: Any = sqlite_time(now)
        sent_v: Any = sqlite_time(header["sent_at"])
    else:
        now_v = now
        sent_v = header["sent_at"]
        if sent_v.tzinfo is None:
            sent_v = sent_v.replace(tzinfo=dt.UTC)
    cents: dict[Decimal, int | None] = {}
    prefix = f"{time.time_ns() // 1_000_000:012x}"
    randoms = os.urandom(10 * len(items)).hex()
    norm = normalize_name
    for n, (ver, item) in enumerate(items):
        ref = item["reference_id"]
        op = item["operation"]
        eff = item["effective_date"]
        eff_v = eff.isoformat() if iso else eff
        person = item["person"]
        benefit = item.get("benefit")
        geo = item.get("geography")
        program: str | None
        tipo: str | None
        ent: str | None
        mun: str | None
        loc: str | None
        domicilio: str | None
        geo_version: str | None
        if benefit:
            program = benefit["clave_programa"]
            tipo = benefit["tipo_beneficio"]
            amount = benefit["monto"]
            monto = cents.get(amount)
            if monto is None:
                monto = cents[amount] = centavos(amount)
            titular = benefit.get("titular")
            out.programs.add(program)
        else:
            program = tipo = monto = titular = None
        if geo:
            ent, mun, loc = geo["cve_ent"], geo["cve_mun"], geo.get("cve_loc")
            domicilio = geo.get("domicilio")
            geo_version = ver
        else:
            ent = mun = loc = domicilio = geo_version = None
        ledger.append(
            (
                agreement, ref, message, transaction, op, eff_v, ver, program, tipo, monto,
                titular, ent, mun, loc, now_v,
            )
        )
        raw_curp = person.get("curp")
        curp = (raw_curp.strip().upper() or None) if raw_curp else None
        person_id = prefix + randoms[20 * n : 20 * n + 20]
        born: Any = person.get("fecha_nacimiento")
        if iso and born is not None:
            born = born.isoformat()
        people.append(
            (  # COLUMNS["people"]: the id, PERSON_FIELDS in their order, version and times
                person_id,
                curp,
                norm(person["primer_apellido"]),
                norm(person.get("segundo_apellido")),
                norm(person["nombre"]),
                born,
                person.get("entidad_nacimiento"),
                person.get("sexo"),
                person.get("discapacidad"),
                person.get("indigena"),
                ver,
                now_v,
                now_v,
            )
        )
        active = False
        if program is not None:
            if op == "PAGO":
                paid = benefit.get("fecha_beneficio") if benefit else None
                paid = paid or eff
                payments.append(
                    (
                        person_id, program, agreement, ref, message, tipo, monto,
                        paid.isoformat() if iso else paid, ent, mun, loc,
                    )
                )
            else:
                status = "BAJA" if op == "BAJA" else "ACTIVA"
                active = status == "ACTIVA"
                spans.append(
                    (
                        person_id, program, agreement, ref, status, eff_v, None, tipo, monto,
                        titular, ent, mun, loc, message,
                    )
                )
        records.append(
            (
                agreement, ref, person_id, curp, ver, ver, geo_version,
                ent, mun, loc, domicilio, active, sent_v, sent_v,
            )
        )
    return out
