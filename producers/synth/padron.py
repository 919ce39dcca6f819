"""Synthetic padrones: a base roll per agreement and seed, then deterministic churn per delivery.

The roll is streamed in blocks and never held whole. Delivery 1 is the base roll of N rows; each
later delivery g adds ``segment_sizes`` altas (≈4% of the expected roll) drawn from fresh people.
Every entry belongs to one *pass* (segment, program, stream of people) and its fate in each round
of churn (≈3% bajas, ≈2% cambios of name spelling or amount, ≈1% moves to another locality) is
drawn from a ``Random`` seeded by (seed, agreement, pass, round), consumed in entry order, so
delivery K is produced without building deliveries 1..K-1. Reference ids (``<program>-<n>``)
never change for an entry; altas get new, higher ones. In the base roll of a layout whose CURP may
be empty, ≈0.4% of rows are the same person registered again without CURP and often with a typo
(what identity resolution must catch). ``error_rate`` then spoils a share of rows with errors
validation detects (``producers.synth.errors``), each listed in the block.

Two calendars. By default delivery K covers the K-th payment period counted from the agreement's
``valid_from`` (a padrón's history, month by month). With ``recent`` (what ``sisi up --demo``
uses) every delivery is sent as the facts happen: its new altas and every payment fall in the
last :func:`recent_days` days before ``today`` (payments within that window's last month), so a
delivery sent now is within the agreement's ``delivery.max_lag_hours``, which compliance
measures from each item's effective date. Payment dates are then drawn per row once (not per
delivery), so on a given day a row's payment date is the same in every delivery.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from itertools import repeat
from random import Random
from typing import Final

from hub.agreements.model import Agreement, ProgramTerms
from hub.errors import AgreementError
from producers.synth.errors import ErrorInjector
from producers.synth.geo import GeoPools, load_pools
from producers.synth.people import Places, StreamKey, people
from producers.synth.plan import apportion, segment_sizes, stream_weights
from producers.synth.profile import program_profile
from producers.synth.record import Block, SynthRecord, Value
from producers.synth.spelling import respell, typo

__all__ = ["CHURN", "generate_padron", "padron_blocks", "recent_days"]

#: Per-round churn shares: bajas, altas, cambios, moves; and the base roll's duplicate share.
CHURN: Final = {"baja": 0.03, "alta": 0.04, "cambio": 0.02, "mudanza": 0.01, "duplicado": 0.004}

_MONTHS: Final = {
    "unica": 12, "mensual": 1, "bimestral": 2, "trimestral": 3, "cuatrimestral": 4,
    "semestral": 6, "anual": 12,
}  # fmt: skip
_BAJA: Final = CHURN["baja"]
_CAMBIO: Final = _BAJA + CHURN["cambio"]
_MUDANZA: Final = _CAMBIO + CHURN["mudanza"]
_BLOCK: Final = 4096


class _Dates(dict[int, date]):
    """Date objects by ordinal, made once (birth, alta and payment dates repeat a lot)."""

    def __missing__(self, key: int) -> date:
        value = self[key] = date.fromordinal(key)
        return value


_DATES: Final = _Dates()


@dataclass(frozen=True)
class _Program:
    terms: ProgramTerms
    min_age: int
    allow_x: bool
    streams: list[tuple[StreamKey, float]]
    amounts: tuple[Decimal, ...]
    types: tuple[str, ...]


def _amounts(program: ProgramTerms) -> tuple[Decimal, ...]:
    """Amounts within the program's range, rounded as agencies pay (to 500, 100 or 10 pesos)."""
    lo, hi = program.benefit.amount.min, program.benefit.amount.max
    span = hi - lo
    if span <= 0:
        return (lo,)
    step = Decimal(500 if span >= 1000 else 100 if span >= 200 else 10 if span >= 20 else 1)
    return tuple(lo + step * k for k in range(int(span // step) + 1))


def recent_days(agreement: Agreement) -> int:
    """Days of the ``recent`` calendar's window: facts dated in them, sent today, are on time.

    ``max_lag_hours`` bounds the hub's arrival time minus the start of the effective date (00:00
    central Mexico time, see ``hub.compliance.counting``); two days are kept in hand (a fact of
    yesterday sent late tonight, a file written before midnight and sent after it, the hour
    between UTC and central time), and the window never exceeds the agreement's payment
    period.
    """
    months = min(_MONTHS[p.benefit.periodicity] for p in agreement.programs)
    return max(1, min(agreement.delivery.max_lag_hours // 24 - 2, 28 * months))


def _add_months(d: date, months: int) -> date:
    total = d.month - 1 + months
    return date(d.year + total // 12, total % 12 + 1, 1)


class _Padron:
    """The roll of one agreement for one delivery, produced pass by pass."""

    def __init__(
        self,
        agreement: Agreement,
        seed: int,
        delivery: int,
        geo: GeoPools,
        today: date,
        *,
        recent: bool = False,
    ) -> None:
        if agreement.kind != "padron":
            raise AgreementError(
                f"el convenio {agreement.id} es de tipo '{agreement.kind}', no de padrón",
                hint="use 'sisi synth households' para convenios de encuesta",
            )
        self.agreement = agreement
        self.seed = seed
        self.delivery = delivery
        self.today = today
        self.recent = recent
        self.places = Places(geo)
        agency = agreement.parties.agency
        self.municipality = agency.municipality
        sexo = agreement.layout.fields.get("sexo")
        coded = set(sexo.codes.values()) if sexo is not None and sexo.codes else {"H", "M", "X"}
        self.programs: list[_Program] = []
        for terms in agreement.programs:
            profile = program_profile(
                terms.eligibility.expression, agency.state, agency.municipality
            )
            self.programs.append(
                _Program(
                    terms=terms,
                    min_age=profile.min_age,
                    allow_x="X" in profile.sexes and "X" in coded,
                    streams=stream_weights(profile, geo, agency.state, agency.municipality),
                    amounts=_amounts(terms),
                    types=tuple(terms.benefit.types),
                )
            )
        self.period_months = min(_MONTHS[p.benefit.periodicity] for p in agreement.programs)
        fields = agreement.layout.fields
        curp = fields.get("curp")
        derived = any(s.derive == "curp" for s in fields.values())
        self.duplicates = curp is not None and not curp.required and not derived
        self.layout_constants: dict[str, Value] = {
            name: source.constant for name, source in fields.items() if source.constant is not None
        }

    def period(self, delivery: int) -> tuple[int, int]:
        """First and last day (ordinals) of ``delivery``'s period, capped at yesterday.

        In the ``recent`` calendar every delivery's period is the window of the last
        :func:`recent_days` days (today included only when the agreement allows less than two
        days of lag, where yesterday's facts would already be late).
        """
        if self.recent:
            short = self.agreement.delivery.max_lag_hours < 48
            last = self.today if short else self.today - timedelta(days=1)
            first = last - timedelta(days=recent_days(self.agreement) - 1)
            return first.toordinal(), last.toordinal()
        start = _add_months(self.agreement.valid_from, (delivery - 1) * self.period_months)
        end = _add_months(start, self.period_months) - timedelta(days=1)
        limit = self.today - timedelta(days=1)
        return min(start, limit).toordinal(), min(end, limit).toordinal()

    def payment_days(self) -> tuple[int, int]:
        """First and last day (ordinals) a payment of this delivery may fall on.

        The delivery's period; in the ``recent`` calendar only its last day's month, so that
        every payment of a delivery belongs to one payment month (``sisi produce --period``
        sends as payments of a month only the rows whose payment date falls in it).
        """
        first, last = self.period(self.delivery)
        if self.recent:
            first = max(first, date.fromordinal(last).replace(day=1).toordinal())
        return first, last

    def blocks(self, people_n: int, injector: ErrorInjector | None) -> Iterator[Block]:
        """The roll in blocks of at least ``_BLOCK`` rows (but the last), errors injected."""
        pending: list[Block] = []
        rows = 0
        for block in self._passes(people_n):
            pending.append(block)
            rows += block.size
            if rows >= _BLOCK:
                yield self._spoiled(Block.concat(pending), injector)
                pending, rows = [], 0
        if pending:
            yield self._spoiled(Block.concat(pending), injector)

    @staticmethod
    def _spoiled(block: Block, injector: ErrorInjector | None) -> Block:
        if injector is not None:
            injector.spoil_block(block)
        return block

    def _passes(self, people_n: int) -> Iterator[Block]:
        seq = 1
        sizes = segment_sizes(people_n, self.delivery, _BAJA, CHURN["alta"])
        for segment, size in enumerate(sizes, 1):
            dups = int(size * CHURN["duplicado"]) if segment == 1 and self.duplicates else 0
            shares = apportion(size - dups, [1.0] * len(self.programs))
            program_dups = apportion(dups, [float(s) for s in shares])
            for program, count, dup in zip(self.programs, shares, program_dups, strict=True):
                counts = apportion(count, [w for _, w in program.streams])
                dup_counts = apportion(dup, [float(c) for c in counts])
                for (key, _w), n, d in zip(program.streams, counts, dup_counts, strict=True):
                    if n:
                        yield from self._pass(segment, program, key, n, d, seq)
                        seq += n + d

    def _pass(
        self,
        segment: int,
        program: _Program,
        key: StreamKey,
        n: int,
        d: int,
        seq: int,
    ) -> Iterator[Block]:
        tag = f"{self.seed}/{self.agreement.id}/{segment}/{program.terms.key}/{key}"
        rng = Random(f"{tag}/alta")
        pay = Random(f"{tag}/pago/reciente" if self.recent else f"{tag}/pago/{self.delivery}")
        rounds = [Random(f"{tag}/churn/{r}") for r in range(segment, self.delivery)]
        dup_rng = Random(f"{tag}/duplicado")
        dup_at = set(dup_rng.sample(range(n), d)) if d else set()
        alta_start, alta_end = self.period(segment)
        pay_start, pay_end = self.payment_days()
        eligible_days = int(365.25 * program.min_age) + 1
        earliest = alta_start - 4 * 365
        pkey = program.terms.key
        constants: dict[str, Value] = {
            "operation": "ALTA", "clave_programa": pkey, "cve_ent": key[0],
        }  # fmt: skip
        if len(program.amounts) == 1:
            constants["monto"] = program.amounts[0]
        if len(program.types) == 1:
            constants["tipo_beneficio"] = program.types[0]
        constants.update(self.layout_constants)
        taken = 0
        for chunk in people(self.seed, segment, key, self.places, n):
            cols = chunk.columns()
            borns = chunk.born_ordinal
            if not program.allow_x and "X" in chunk.sexo:  # the program's rule excludes sex X
                keep = [i for i, s in enumerate(chunk.sexo) if s != "X"]
                cols = {name: [column[i] for i in keep] for name, column in cols.items()}
                borns = [borns[i] for i in keep]
            m = len(borns)
            rand = rng.random
            us = [rand() for _ in repeat(None, m)]
            if segment == 1:
                los = [b + eligible_days for b in borns]
                los = [lo if lo > earliest else earliest for lo in los]
                altas = [
                    alta_start - int(u * (alta_start - lo + 1)) if lo < alta_start
                    else alta_start
                    for lo, u in zip(los, us, strict=True)
                ]  # fmt: skip
            else:
                span = alta_end - alta_start + 1
                altas = [alta_start + int(u * span) for u in us]
            if "monto" not in constants:
                cols["monto"] = list(rng.choices(program.amounts, k=m))
            if "tipo_beneficio" not in constants:
                cols["tipo_beneficio"] = list(rng.choices(program.types, k=m))
            cols["titular"] = ["S" if rand() < 0.97 else "N" for _ in repeat(None, m)]
            cols["effective_date"] = list(map(_DATES.__getitem__, altas))
            first = seq + taken
            cols["reference_id"] = [f"{pkey}-{s:07d}" for s in range(first, first + m)]
            extra: list[int] = []
            if dup_at:
                extra = [i for i in range(m) if taken + i in dup_at]
                self._duplicate(cols, extra, dup_rng, pkey, first + m)
                altas += [altas[i] for i in extra]
            taken += m
            seq += len(extra)
            size = len(cols["curp"])
            # recent: one draw per row before churn, so a row keeps its payment date whoever
            # leaves; otherwise the draws follow the survivors, as deliveries always did
            pay_us = [pay.random() for _ in repeat(None, size)] if self.recent else None
            alive = self._churn(cols, size, rounds, program, key)
            if alive is not None:
                cols = {name: [col[i] for i in alive] for name, col in cols.items()}
                altas = [altas[i] for i in alive]
                if pay_us is not None:
                    pay_us = [pay_us[i] for i in alive]
                size = len(alive)
            if pay_us is None:
                pay_us = [pay.random() for _ in repeat(None, size)]
            los = [a if a > pay_start else pay_start for a in altas]
            paid = [
                lo + int(u * (pay_end - lo + 1)) if pay_end > lo else lo
                for lo, u in zip(los, pay_us, strict=True)
            ]
            cols["fecha_beneficio"] = list(map(_DATES.__getitem__, paid))
            cols["cvegeo"] = [
                key[0] + mun + loc  # type: ignore[operator]
                for mun, loc in zip(cols["cve_mun"], cols["cve_loc"], strict=True)
            ]
            yield Block(size, cols, constants)

    def _duplicate(
        self, cols: dict[str, list[Value]], rows: list[int], rng: Random, pkey: str, seq: int
    ) -> None:
        """Append a copy without CURP (and often with a typo) of each row in ``rows``."""
        for offset, i in enumerate(rows):
            for column in cols.values():
                column.append(column[i])
            last = len(cols["curp"]) - 1
            cols["curp"][last] = None
            cols["reference_id"][last] = f"{pkey}-{seq + offset:07d}"
            if rng.random() < 0.6:
                name = "nombre" if rng.random() < 0.5 else "primer_apellido"
                cols[name][last] = typo(str(cols[name][last]), rng)

    def _churn(
        self,
        cols: dict[str, list[Value]],
        size: int,
        rounds: list[Random],
        program: _Program,
        key: StreamKey,
    ) -> list[int] | None:
        """Apply each round's bajas, cambios and moves; the surviving rows (None: all)."""
        dead: set[int] = set()
        for rr in rounds:
            fates = [rr.random() for _ in repeat(None, size)]
            for i in [i for i, fate in enumerate(fates) if fate < _MUDANZA]:
                fate = fates[i]
                if i in dead:
                    continue
                if fate < _BAJA:
                    dead.add(i)
                elif fate < _CAMBIO:
                    self._change(cols, i, rr, program)
                else:
                    self._move(cols, i, rr, key)
        if not dead:
            return None
        return [i for i in range(size) if i not in dead]

    def _change(self, cols: dict[str, list[Value]], i: int, rng: Random, program: _Program) -> None:
        if "monto" in cols and rng.random() < 0.5:
            new = rng.choice(program.amounts)
            if new != cols["monto"][i]:
                cols["monto"][i] = new
                return
        names = {f: cols[f][i] for f in ("primer_apellido", "segundo_apellido", "nombre")}
        for field in ("nombre", "primer_apellido"):
            current = str(cols[field][i])
            new_name = respell(current, names, rng, field=field)  # type: ignore[arg-type]
            if new_name != current:
                cols[field][i] = new_name
                return

    def _move(self, cols: dict[str, list[Value]], i: int, rng: Random, key: StreamKey) -> None:
        table, weights = self.places.table(key[0], key[1])
        mun, loc, rural = rng.choices(table, cum_weights=weights)[0]
        cols["cve_mun"][i] = mun
        cols["cve_loc"][i] = loc
        if not rural or rng.random() >= 0.6:
            street = rng.choice(("HIDALGO", "MORELOS", "JUAREZ", "REFORMA", "ALLENDE", "MADERO"))
            cols["domicilio"][i] = f"CALLE {street} {rng.randint(1, 400)} COL. CENTRO"
        else:
            cols["domicilio"][i] = "DOMICILIO CONOCIDO"


def padron_blocks(
    agreement: Agreement,
    people: int,
    seed: int,
    delivery: int = 1,
    error_rate: float = 0.0,
    *,
    geo: GeoPools | None = None,
    today: date | None = None,
    recent: bool = False,
) -> Iterator[Block]:
    """The rows of ``agreement``'s padrón for ``delivery`` (1 = base roll of ``people``), in blocks.

    Deterministic for (agreement, people, seed, delivery, error_rate, today, recent); ``today``
    (default: the current date) caps benefit dates, which validation rejects when in the future,
    and with ``recent`` places the delivery's new facts in the days before it (module docstring).
    """
    if people < 0 or delivery < 1 or not 0.0 <= error_rate <= 1.0:
        raise ValueError("people >= 0, delivery >= 1 y 0 <= error_rate <= 1")
    pools = geo or load_pools()
    today = today or date.today()
    padron = _Padron(agreement, seed, delivery, pools, today, recent=recent)
    injector = None
    if error_rate > 0:
        rng = Random(f"{seed}/{agreement.id}/err/{delivery}")
        injector = ErrorInjector(agreement.layout, pools, rng, today, rate=error_rate)
    return padron.blocks(people, injector)


def generate_padron(
    agreement: Agreement,
    people: int,
    seed: int,
    delivery: int = 1,
    error_rate: float = 0.0,
    *,
    geo: GeoPools | None = None,
    today: date | None = None,
    recent: bool = False,
) -> Iterator[SynthRecord]:
    """The same rows as ``padron_blocks``, one ``SynthRecord`` at a time."""
    blocks = padron_blocks(
        agreement, people, seed, delivery, error_rate, geo=geo, today=today, recent=recent
    )
    return (record for block in blocks for record in block.records())
