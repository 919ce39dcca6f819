"""Random delivery histories against an oracle written from the rules, not from the writer.

Each case makes a few padrón rows with random ALTA / CAMBIO / BAJA / PAGO items (dates across a
year boundary, addresses that change, items with and without geography), splits them into
change sets (one item per reference per change set, random send times in several time zones),
sometimes with two rows of one person,
delivers them in a random order with random redeliveries, and compares ``enrolled_in`` and
``paid_in`` with what the rules say, computed here directly per day:

- items are ordered by (effective date, send time in UTC), ties broken by a digest of the
  item's identity (agreement, message, reference);
- a row is enrolled on day d when the newest ALTA/BAJA/CAMBIO dated on or before d, counting
  from its first ALTA, leaves it ACTIVA (an ALTA makes it ACTIVA, a BAJA ends it, a CAMBIO keeps
  the status); items before its first ALTA name no program and open nothing;
- a payment counts at its own geography; without one, at the address in force on its date (the
  newest address an ALTA/CAMBIO/BAJA gave by then, from the first ALTA on), before any such
  address at the first one in force, and with none at all at the row's newest address of any
  item.
"""

from __future__ import annotations

import calendar
import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.engine import Engine

from hub.registry import RegistryWriter, enrolled_in, paid_in
from hub.registry.items import identity_key, utc_naive
from tests.hub.registry.conftest import AGREEMENT, PROGRAM, clear, header, item

CURPS = ["PEGJ800101HCSRRN01", "LOMA900202MDFPRR02", "GOMC800101HDFRRR05"]
PLACES = [("07", "089", "0001"), ("07", "089", "0002"), ("07", "101", "0001")]
MONTHS = ["2024-11", "2024-12", "2025-01", "2025-02", "2025-03"]
FIRST, LAST = dt.date(2024, 11, 1), dt.date(2025, 3, 31)
ZONES = [dt.UTC, dt.timezone(dt.timedelta(hours=-6)), dt.timezone(dt.timedelta(hours=5))]


@dataclass(frozen=True)
class Event:
    ref: str
    op: str
    day: dt.date
    geo: tuple[str, str, str] | None
    monto: int  # pesos, PAGO only
    message: str
    sent: dt.datetime

    def key(self) -> tuple[dt.date, dt.datetime, str]:
        return (self.day, utc_naive(self.sent), identity_key(AGREEMENT, self.message, self.ref))


def _random_events(rng: random.Random) -> list[Event]:
    span = (LAST - FIRST).days
    messages = [
        (
            f"m{k}",
            dt.datetime(
                2025, 4, 1, rng.randint(0, 23), rng.choice([0, 30]), tzinfo=dt.UTC
            ).astimezone(rng.choice(ZONES)),
        )
        for k in range(rng.randint(2, 8))
    ]
    events: list[Event] = []
    for n in range(rng.randint(1, len(CURPS))):
        ref = f"R{n}"
        # a change set holds each reference once: this row's items go to distinct change sets
        for message, sent in rng.sample(messages, k=rng.randint(1, len(messages))):
            op = rng.choice(["ALTA", "ALTA", "BAJA", "CAMBIO", "PAGO", "PAGO"])
            day = FIRST + dt.timedelta(days=rng.choice([0, span, rng.randint(0, span)]))
            if rng.random() < 0.3:  # month edges
                day = day.replace(day=rng.choice([1, calendar.monthrange(day.year, day.month)[1]]))
            geo = rng.choice([None, *PLACES]) if op != "BAJA" or rng.random() < 0.3 else None
            monto = rng.randint(1, 9) * 10 ** rng.randint(0, 3)
            events.append(Event(ref, op, day, geo, monto, message, sent))
    return events


def _changes(events: list[Event], ref: str) -> list[Event]:
    """The row's ALTA/BAJA/CAMBIO from its first ALTA on, oldest first."""
    ordered = sorted((e for e in events if e.ref == ref and e.op != "PAGO"), key=Event.key)
    firsts = [i for i, e in enumerate(ordered) if e.op == "ALTA"]
    return ordered[firsts[0] :] if firsts else []


def _enrolled_on(changes: list[Event], day: dt.date) -> bool:
    status = None
    for e in changes:
        if e.day > day:
            break
        status = "ACTIVA" if e.op == "ALTA" else "BAJA" if e.op == "BAJA" else status
    return status == "ACTIVA"


def _address(events: list[Event], ref: str, day: dt.date) -> tuple[str, str, str] | None:
    changes = [e for e in _changes(events, ref) if e.geo is not None]
    before = [e for e in changes if e.day <= day]
    if before:
        return before[-1].geo
    if changes:  # the first address in force (a later item of the same day supersedes)
        return [e for e in changes if e.day == changes[0].day][-1].geo
    anything = sorted((e for e in events if e.ref == ref and e.geo), key=Event.key)
    return anything[-1].geo if anything else None


def _curp(ref: str, shared: bool) -> str:
    """The row's CURP; with ``shared``, rows R0 and R2 are one person (two padrón rows)."""
    return CURPS[0] if shared and ref == "R2" else CURPS[int(ref[1:])]


def _expected_enrolled(events: list[Event], shared: bool) -> dict[str, list[str]]:
    result = {}
    for month in MONTHS:
        year, mon = map(int, month.split("-"))
        days = [dt.date(year, mon, d) for d in range(1, calendar.monthrange(year, mon)[1] + 1)]
        who = set()
        for n in range(len(CURPS)):
            changes = _changes(events, f"R{n}")
            if any(_enrolled_on(changes, d) for d in days):
                who.add(_curp(f"R{n}", shared))
        result[month] = sorted(who)
    return result


def _expected_paid(events: list[Event], cvegeo: str, year: int) -> Counter[tuple[str, Decimal]]:
    paid: Counter[tuple[str, Decimal]] = Counter()
    for e in events:
        if e.op != "PAGO" or e.day.year != year:
            continue
        geo = e.geo or _address(events, e.ref, e.day)
        if geo is not None and "".join(geo).startswith(cvegeo):
            paid[(e.ref, Decimal(e.monto).quantize(Decimal("0.01")))] += 1
    return paid


def _deliver(engine: Engine, events: list[Event], rng: random.Random, shared: bool) -> None:
    messages: dict[str, list[Event]] = {}
    for e in events:
        messages.setdefault(e.message, []).append(e)
    deliveries = list(messages.values())
    deliveries += rng.sample(deliveries, k=rng.randint(0, len(deliveries)))  # redeliveries
    rng.shuffle(deliveries)
    writer = RegistryWriter(engine)
    for group in deliveries:
        first = group[0]
        items = [
            item(
                e.ref,
                e.op,
                e.day,
                curp=_curp(e.ref, shared),
                nombre=f"N{_curp(e.ref, shared)}",
                program=PROGRAM if e.op in ("ALTA", "PAGO") else None,
                monto=str(e.monto),
                geo=e.geo,
            )
            for e in group
        ]
        writer.apply(header(first.message, sent_at=first.sent, items=len(items)), items)


def test_random_histories_answer_as_the_rules_say(registry: Engine) -> None:
    rng = random.Random(20251125)
    answered = Counter[str]()
    for case in range(60):
        events = _random_events(rng)
        shared = rng.random() < 0.3
        clear(registry)
        _deliver(registry, events, rng, shared)
        context = f"case {case} (shared {shared}):\n" + "\n".join(
            f"{e.ref} {e.op} {e.day} {e.geo} {e.monto} {e.message} {utc_naive(e.sent)}"
            for e in sorted(events, key=Event.key)
        )
        got = {m: sorted(p.curp or "" for p in enrolled_in(registry, PROGRAM, m)) for m in MONTHS}
        assert got == _expected_enrolled(events, shared), context
        answered["enrolled"] += any(got.values())
        for cvegeo in ("07", "07089", "070890001", "070890002", "071010001"):
            for year in (2024, 2025):
                rows = paid_in(registry, PROGRAM, cvegeo, year).rows
                answer = Counter((r.reference_id, r.monto) for r in rows)
                assert answer == _expected_paid(events, cvegeo, year), (cvegeo, year, context)
                answered["paid"] += bool(answer)
    assert answered["enrolled"] > 30 and answered["paid"] > 30, answered  # the cases say things
