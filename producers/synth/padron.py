"""Synthetic padrones: a base roll per agreement and seed, then deterministic churn per delivery.

Delivery 1 is the base roll; delivery K is the roll after K-1 rounds of churn (≈3% bajas, ≈4%
altas, ≈2% cambios of name spelling or amount, ≈1% moves to another municipality), each round
seeded by (seed, agreement, round) so any delivery can be regenerated alone. Reference ids
(``<program>-<n>``) never change for a person in a program; altas get new ones. A few entries are
the same person registered twice, the second copy without CURP and often with a typo in a name
(what identity resolution must catch). ``error_rate`` then spoils a share of rows with errors
validation detects, each listed on the record (``producers.synth.errors``).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from itertools import accumulate
from random import Random
from typing import Final

from hub.agreements.model import Agreement, ProgramTerms
from hub.errors import AgreementError
from producers.synth.errors import ErrorInjector
from producers.synth.geo import GeoPools, load_pools
from producers.synth.population import AGE_BAND_WEIGHTS, REFERENCE_DATE, Person, Universe
from producers.synth.profile import program_profile
from producers.synth.record import SynthRecord, Value
from producers.synth.spelling import respell, typo

__all__ = ["CHURN", "generate_padron"]

#: Per-round churn shares: bajas, altas, cambios, moves; and the base roll's duplicate share.
CHURN: Final = {"baja": 0.03, "alta": 0.04, "cambio": 0.02, "mudanza": 0.01, "duplicado": 0.004}

_MONTHS: Final = {
    "unica": 12, "mensual": 1, "bimestral": 2, "trimestral": 3, "cuatrimestral": 4,
    "semestral": 6, "anual": 12,
}  # fmt: skip
#: Share of drawn people a program takes (so programs overlap without being identical).
_TAKE_PERCENT: Final = 80


@dataclass(frozen=True, slots=True)
class _Entry:
    seq: int
    program: str
    person: Person
    primer_apellido: str
    segundo_apellido: str
    nombre: str
    cve_mun: str
    cve_loc: str
    domicilio: str
    amount: Decimal
    benefit_type: str
    alta: date
    titular: str
    with_curp: bool = True


class _Selector:
    """Draws a program's next beneficiaries from the universe, in a deterministic order."""

    def __init__(
        self, agreement: Agreement, program: ProgramTerms, universe: Universe, seed: int
    ) -> None:
        agency = agreement.parties.agency
        self.program = program
        self.universe = universe
        self.profile = program_profile(
            program.eligibility.expression, agency.state, agency.municipality
        )
        self.municipality = agency.municipality
        sexo = agreement.layout.fields.get("sexo")
        sexes = set(self.profile.sexes)
        if sexo is not None and sexo.codes is not None:
            sexes &= set(sexo.codes.values())
        self.sexes = frozenset(sexes or {"H", "M"})
        geo = universe.geo
        if agency.state is not None:
            self.states: tuple[str, ...] = (agency.state,)
            self.state_cw: tuple[int, ...] = (1,)
        else:
            self.states, self.state_cw = geo.states, geo.state_weights
        lo, hi = self.profile.min_age, self.profile.max_age
        bands = range(len(AGE_BAND_WEIGHTS))
        self.bands = tuple(b for b in bands if 5 * b <= hi and 5 * b + 4 >= lo)
        weights = [
            AGE_BAND_WEIGHTS[b] * (min(hi, 5 * b + 4) - max(lo, 5 * b) + 1) for b in self.bands
        ]
        self.band_cw = tuple(accumulate(weights))
        self.rng = Random(f"{seed}/{agreement.id}/{program.key}/draw")
        self.cursors: dict[tuple[str, int], int] = {}
        self.salt = program.key.encode()

    def draw(self, n: int) -> list[Person]:
        """The next ``n`` beneficiaries."""
        rng = self.rng
        states = rng.choices(self.states, cum_weights=self.state_cw, k=n)
        bands = rng.choices(self.bands, cum_weights=self.band_cw, k=n)
        lo, hi = self.profile.min_age, self.profile.max_age
        out: list[Person] = []
        for state, band in zip(states, bands, strict=True):
            key = (state, band)
            k = self.cursors.get(key, 0)
            while True:
                person = self.universe.person(state, band, k)
                k += 1
                if (
                    person.sexo in self.sexes
                    and lo <= person.age_on(REFERENCE_DATE) <= hi
                    and (self.municipality is None or person.cve_mun == self.municipality)
                    and zlib.crc32(person.uid.encode(), zlib.crc32(self.salt)) % 100 < _TAKE_PERCENT
                ):
                    break
            self.cursors[key] = k
            out.append(person)
        return out


def _amount(program: ProgramTerms, rng: Random) -> Decimal:
    """An amount within the program's range, rounded as agencies pay (to 500, 100 or 10 pesos)."""
    lo, hi = program.benefit.amount.min, program.benefit.amount.max
    span = hi - lo
    if span <= 0:
        return lo
    step = Decimal(500 if span >= 1000 else 100 if span >= 200 else 10 if span >= 20 else 1)
    steps = int(span // step)
    return lo + step * rng.randint(0, steps)


def _add_months(d: date, months: int) -> date:
    total = d.month - 1 + months
    return date(d.year + total // 12, total % 12 + 1, 1)


class _Padron:
    """The roll of one agreement as it evolves delivery by delivery."""

    def __init__(self, agreement: Agreement, seed: int, geo: GeoPools, today: date) -> None:
        if agreement.kind != "padron":
            raise AgreementError(
                f"el convenio {agreement.id} es de tipo '{agreement.kind}', no de padrón",
                hint="use 'sisi synth households' para convenios de encuesta",
            )
        self.agreement = agreement
        self.seed = seed
        self.today = today
        universe = Universe(seed, geo)
        self.selectors = [_Selector(agreement, p, universe, seed) for p in agreement.programs]
        self.entries: dict[int, _Entry] = {}
        self.next_seq = 1
        months = {_MONTHS[p.benefit.periodicity] for p in agreement.programs}
        self.period_months = min(months)

    def period(self, delivery: int) -> tuple[date, date]:
        start = _add_months(self.agreement.valid_from, (delivery - 1) * self.period_months)
        end = _add_months(start, self.period_months) - timedelta(days=1)
        limit = self.today - timedelta(days=1)
        return min(start, limit), min(end, limit)

    def _new_entries(self, n: int, rng: Random, delivery: int) -> None:
        start, end = self.period(delivery)
        counts = [n // len(self.selectors)] * len(self.selectors)
        counts[0] += n - sum(counts)
        for selector, count in zip(self.selectors, counts, strict=True):
            program = selector.program
            for person in selector.draw(count):
                eligible_since = _years_after(person.fecha_nacimiento, selector.profile.min_age)
                if delivery == 1:
                    earliest = max(eligible_since, start - timedelta(days=4 * 365))
                    alta = _between(rng, min(earliest, start), start)
                else:
                    alta = _between(rng, start, end)
                self.entries[self.next_seq] = _Entry(
                    seq=self.next_seq,
                    program=program.key,
                    person=person,
                    primer_apellido=person.primer_apellido,
                    segundo_apellido=person.segundo_apellido,
                    nombre=person.nombre,
                    cve_mun=person.cve_mun,
                    cve_loc=person.cve_loc,
                    domicilio=person.domicilio,
                    amount=_amount(program, rng),
                    benefit_type=rng.choice(program.benefit.types),
                    alta=alta,
                    titular="S" if rng.random() < 0.97 else "N",
                )
                self.next_seq += 1

    def base(self, people: int) -> None:
        rng = Random(f"{self.seed}/{self.agreement.id}/base")
        duplicates = int(people * CHURN["duplicado"]) if self._allows_missing_curp() else 0
        self._new_entries(people - duplicates, rng, 1)
        originals = list(self.entries.values())
        for original in rng.sample(originals, min(duplicates, len(originals))):
            self._duplicate(original, rng)

    def _allows_missing_curp(self) -> bool:
        fields = self.agreement.layout.fields
        curp = fields.get("curp")
        derived = any(s.derive == "curp" for s in fields.values())
        return curp is not None and not curp.required and not derived

    def _duplicate(self, original: _Entry, rng: Random) -> None:
        nombre, apellido = original.nombre, original.primer_apellido
        if rng.random() < 0.6:
            if rng.random() < 0.5:
                nombre = typo(nombre, rng)
            else:
                apellido = typo(apellido, rng)
        self.entries[self.next_seq] = replace(
            original, seq=self.next_seq, nombre=nombre, primer_apellido=apellido, with_curp=False
        )
        self.next_seq += 1

    def churn(self, round_: int) -> None:
        rng = Random(f"{self.seed}/{self.agreement.id}/churn/{round_}")
        delivery = round_ + 1
        before = len(self.entries)
        geo = self.selectors[0].universe.geo
        for seq in list(self.entries):
            entry = self.entries[seq]
            r = rng.random()
            if r < CHURN["baja"]:
                del self.entries[seq]
            elif r < CHURN["baja"] + CHURN["cambio"]:
                self.entries[seq] = self._change(entry, rng)
            elif r < CHURN["baja"] + CHURN["cambio"] + CHURN["mudanza"]:
                self.entries[seq] = self._move(entry, rng, geo)
        self._new_entries(round(before * CHURN["alta"]), rng, delivery)

    def _change(self, entry: _Entry, rng: Random) -> _Entry:
        program = self.agreement.program(entry.program)
        assert program is not None
        amount = program.benefit.amount
        if amount.max > amount.min and rng.random() < 0.5:
            new = _amount(program, rng)
            if new != entry.amount:
                return replace(entry, amount=new)
        nombre = respell(entry.nombre, entry.person, rng, field="nombre")
        if nombre != entry.nombre:
            return replace(entry, nombre=nombre)
        apellido = respell(entry.primer_apellido, entry.person, rng, field="primer_apellido")
        return replace(entry, primer_apellido=apellido)

    def _move(self, entry: _Entry, rng: Random, geo: GeoPools) -> _Entry:
        state = entry.person.cve_ent
        municipality = self.agreement.parties.agency.municipality
        if municipality is None:
            muns = geo.municipalities[state]
            municipality = rng.choices(muns, cum_weights=geo.mun_weights[state])[0]
        cve_loc, _ambito = geo.locality(state, municipality, rng.random())
        return replace(entry, cve_mun=municipality, cve_loc=cve_loc, domicilio="DOMICILIO CONOCIDO")

    def records(self, delivery: int) -> Iterator[SynthRecord]:
        rng = Random(f"{self.seed}/{self.agreement.id}/pago/{delivery}")
        start, end = self.period(delivery)
        constants = {
            name: source.constant
            for name, source in self.agreement.layout.fields.items()
            if source.constant is not None
        }
        for seq in sorted(self.entries):
            entry = self.entries[seq]
            yield SynthRecord(
                reference_id=f"{entry.program}-{seq:07d}",
                values=_values(entry, _between(rng, max(start, entry.alta), end), constants),
            )


def _values(entry: _Entry, paid: date, constants: dict[str, str]) -> dict[str, Value]:
    person = entry.person
    values: dict[str, Value] = {
        "reference_id": f"{entry.program}-{entry.seq:07d}",
        "operation": "ALTA",
        "effective_date": entry.alta,
        "curp": person.curp if entry.with_curp else None,
        "primer_apellido": entry.primer_apellido,
        "segundo_apellido": entry.segundo_apellido or None,
        "nombre": entry.nombre,
        "fecha_nacimiento": person.fecha_nacimiento,
        "entidad_nacimiento": person.entidad_nacimiento,
        "sexo": person.sexo,
        "discapacidad": "S" if person.discapacidad else "N",
        "indigena": "S" if person.indigena else "N",
        "clave_programa": entry.program,
        "tipo_beneficio": entry.benefit_type,
        "monto": entry.amount,
        "fecha_beneficio": paid,
        "titular": entry.titular,
        "cve_ent": person.cve_ent,
        "cve_mun": entry.cve_mun,
        "cve_loc": entry.cve_loc,
        "cvegeo": person.cve_ent + entry.cve_mun + entry.cve_loc,
        "domicilio": entry.domicilio,
    }
    values.update(constants)
    return values


def _years_after(born: date, years: int) -> date:
    try:
        return born.replace(year=born.year + years)
    except ValueError:  # 29 February
        return born.replace(year=born.year + years, day=28)


def _between(rng: Random, lo: date, hi: date) -> date:
    if hi <= lo:
        return lo
    return lo + timedelta(days=int(rng.random() * ((hi - lo).days + 1)))


def generate_padron(
    agreement: Agreement,
    people: int,
    seed: int,
    delivery: int = 1,
    error_rate: float = 0.0,
    *,
    geo: GeoPools | None = None,
    today: date | None = None,
) -> Iterator[SynthRecord]:
    """The rows of ``agreement``'s padrón for ``delivery`` (1 = base roll of ``people``).

    Deterministic for (agreement, people, seed, delivery, error_rate, today); ``today`` (default:
    the current date) only caps benefit dates, which validation rejects when in the future.
    """
    if people < 0 or delivery < 1 or not 0.0 <= error_rate <= 1.0:
        raise ValueError("people >= 0, delivery >= 1 y 0 <= error_rate <= 1")
    pools = geo or load_pools()
    padron = _Padron(agreement, seed, pools, today or date.today())
    padron.base(people)
    for round_ in range(1, delivery):
        padron.churn(round_)
    records = padron.records(delivery)
    if error_rate <= 0:
        return records
    rng = Random(f"{seed}/{agreement.id}/err/{delivery}")
    injector = ErrorInjector(agreement.layout, pools, rng, today or date.today())
    return injector.inject(records, error_rate)
