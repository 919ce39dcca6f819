"""Synthetic people in column blocks, one stream per (residence, age, sex), shared by agreements.

Person ``k`` of a stream depends only on the seed, the stream's key and ``k``: a stream has its
own ``Random``, every person takes the same count of numbers from it, and attributes are drawn
for a whole chunk at once (weighted draws through 65,536-entry look-up tables), so two
agreements with the same seed that take people of the same state, age and sex take the same
people (enrolment in several programs). Residence follows the 2020 population of municipalities
and localities (one joint table per state), names follow ``producers.synth.names``, the birth
date is spread over the year of the stream's age, and the CURP is built from the record itself
(``producers.synth.curpfast``) with a homoclave that differs for people of the same stream who
share the other 17 characters.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from itertools import accumulate, repeat
from random import Random
from typing import Final, TypeVar, cast

from producers.synth.curpfast import CurpTable, date_part
from producers.synth.geo import GeoPools
from producers.synth.names import FEMALE_NAMES, MALE_NAMES, NO_SECOND_SURNAME_SHARE, SURNAMES
from producers.synth.record import Value

__all__ = ["REFERENCE_DATE", "PeopleChunk", "Places", "StreamKey", "people"]

#: Ages are whole years on this date; birth dates are spread so that holds for everyone.
REFERENCE_DATE: Final = date(2026, 1, 1)

#: Self-identified indigenous share by state (Censo 2020 autoadscripción, rounded); others 0.10.
_INDIGENOUS: Final = {
    "20": 0.69, "31": 0.65, "07": 0.36, "04": 0.47, "23": 0.44, "12": 0.33, "13": 0.36,
    "21": 0.33, "30": 0.29, "24": 0.24, "16": 0.27, "27": 0.25, "22": 0.20, "17": 0.20,
}  # fmt: skip
_STREETS: Final = (
    "HIDALGO", "MORELOS", "JUAREZ", "5 DE MAYO", "16 DE SEPTIEMBRE", "INDEPENDENCIA", "REFORMA",
    "ZARAGOZA", "ALLENDE", "MADERO", "VICENTE GUERRERO", "LAZARO CARDENAS", "EMILIANO ZAPATA",
    "NIÑOS HEROES", "BENITO JUAREZ", "20 DE NOVIEMBRE", "ALDAMA", "MATAMOROS", "OCAMPO",
    "PRIVADA DEL SOL", "LAS ROSAS", "DE LOS PINOS", "NICOLAS BRAVO", "CUAUHTEMOC",
)  # fmt: skip
_COLONIAS: Final = (
    "CENTRO", "EL CARMEN", "SAN JOSE", "LA PAZ", "GUADALUPE", "INDEPENDENCIA", "LAS FLORES",
    "EMILIANO ZAPATA", "SANTA CRUZ", "SAN MIGUEL", "LOMAS DEL VALLE", "BENITO JUAREZ",
    "INFONAVIT", "EJIDAL", "LA LOMA", "EL MIRADOR", "SAN ANTONIO", "NUEVA ESPERANZA",
)  # fmt: skip
_STREET_PARTS: Final = tuple(f"CALLE {s} " for s in _STREETS)
_COLONIA_PARTS: Final = tuple(f" COL. {c}" for c in _COLONIAS)
_NUMBERS: Final = tuple(str(n) for n in range(1, 401))
_RURAL_ADDRESS: Final = "DOMICILIO CONOCIDO"

_SURNAMES: Final = tuple(s for s, _ in SURNAMES)
_SURNAME_CW: Final = tuple(accumulate(w for _, w in SURNAMES))
_SECONDS: Final = (*_SURNAMES, None)
_NO_SECOND_WEIGHT: Final = round(_SURNAME_CW[-1] * NO_SECOND_SURNAME_SHARE)
_SECOND_CW: Final = (*_SURNAME_CW, _SURNAME_CW[-1] + _NO_SECOND_WEIGHT)
_GIVEN: Final = tuple(n for n, _ in FEMALE_NAMES) + tuple(n for n, _ in MALE_NAMES)
_FEMALE_IDX: Final = tuple(range(len(FEMALE_NAMES)))
_MALE_IDX: Final = tuple(range(len(FEMALE_NAMES), len(_GIVEN)))
_FEMALE_CW: Final = tuple(accumulate(w for _, w in FEMALE_NAMES))
_MALE_CW: Final = tuple(accumulate(w for _, w in MALE_NAMES))
_CURPS: Final = CurpTable(_SURNAMES, _GIVEN)
_TABLE: Final = 1 << 16
T = TypeVar("T")

#: (residence CVE_ENT, CVE_MUN or None for the whole state, age, sex H or M)
StreamKey = tuple[str, str | None, int, str]


_COLUMNS: Final = (
    "curp", "primer_apellido", "segundo_apellido", "nombre", "fecha_nacimiento", "sexo",
    "entidad_nacimiento", "cve_mun", "cve_loc", "domicilio", "discapacidad", "indigena",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class PeopleChunk:
    """Canonical values of consecutive people of one stream, column by column."""

    curp: list[str]
    primer_apellido: list[str]
    segundo_apellido: list[str | None]
    nombre: list[str]
    fecha_nacimiento: list[date]
    sexo: list[str]
    entidad_nacimiento: list[str]
    cve_mun: list[str]
    cve_loc: list[str]
    domicilio: list[str]
    discapacidad: list[str]
    indigena: list[str]
    born_ordinal: list[int]

    def columns(self) -> dict[str, list[Value]]:
        """The canonical fields by name (the lists themselves, not copies)."""
        return {name: cast("list[Value]", getattr(self, name)) for name in _COLUMNS}


class Places:
    """Where people live: per state (or municipality) one table of localities, jointly weighted.

    A locality's weight is its municipality's 2020 population times its share of the (partial)
    locality catalog's population in that municipality, so municipalities keep their weight.
    """

    def __init__(self, geo: GeoPools) -> None:
        self.geo = geo
        self._tables: dict[tuple[str, str | None], tuple[tuple[tuple[str, str, bool], ...],
                                                         tuple[float, ...]]] = {}  # fmt: skip
        others = {e: geo.state_population(e) for e in geo.states}
        self._births: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {}
        self._birth_tables: dict[str, tuple[str, ...]] = {}
        total = sum(others.values())
        for e in geo.states:
            rest = total - others[e]
            weights = [0.85, 0.005, *(0.145 * others[o] / rest for o in geo.states if o != e)]
            states = (e, "NE", *(o for o in geo.states if o != e))
            self._births[e] = (states, tuple(accumulate(weights)))

    def table(
        self, state: str, municipality: str | None
    ) -> tuple[tuple[tuple[str, str, bool], ...], tuple[float, ...]]:
        """((cve_mun, cve_loc, rural), ...) and cumulative weights of ``state``/``municipality``."""
        key = (state, municipality)
        found = self._tables.get(key)
        if found is None:
            geo = self.geo
            muns = geo.municipalities[state] if municipality is None else (municipality,)
            places: list[tuple[str, str, bool]] = []
            weights: list[float] = []
            for mun in muns:
                population = geo.mun_population[(state, mun)]
                previous = 0.0
                for (loc, ambito), cum in zip(
                    geo.localities[(state, mun)], geo.loc_weights[(state, mun)], strict=True
                ):
                    places.append((mun, loc, ambito == "RURAL"))
                    weights.append(population * (cum - previous))
                    previous = cum
            found = self._tables[key] = (tuple(places), tuple(accumulate(weights)))
        return found

    def birth_table(self, state: str) -> tuple[str, ...]:
        """Birth states (INEGI keys, NE = abroad) of residents of ``state``, as a draw table."""
        found = self._birth_tables.get(state)
        if found is None:
            found = self._birth_tables[state] = _quantized(*self._births[state])
        return found


def _disability_share(age: int) -> float:
    return 0.02 if age < 15 else 0.04 if age < 60 else 0.15 if age < 75 else 0.35


_BIRTHDAYS: dict[int, list[tuple[date, tuple[str, int, bool], int]]] = {}


def _birthdays(age: int) -> list[tuple[date, tuple[str, int, bool], int]]:
    """The 364 birth dates giving ``age`` whole years on REFERENCE_DATE, with their CURP part."""
    found = _BIRTHDAYS.get(age)
    if found is None:
        base = REFERENCE_DATE.toordinal() - int(365.25 * age) - 1
        found = []
        for d in range(364):
            born = date.fromordinal(base - d)
            ymd, part = date_part(born)
            found.append((born, (ymd, part, born.year >= 2000), born.toordinal()))
        _BIRTHDAYS[age] = found
    return found


def _quantized(population: tuple[T, ...], cum_weights: tuple[float, ...]) -> tuple[T, ...]:
    """A look-up table of ``_TABLE`` entries: ``table[int(u * _TABLE)]`` draws by the weights."""
    total = cum_weights[-1]
    table: list[T] = []
    for item, cum in zip(population, cum_weights, strict=True):
        table += [item] * (round(cum / total * _TABLE) - len(table))
    return tuple(table)


_FIRST_TABLE: Final = _quantized(tuple(range(len(_SURNAMES))), _SURNAME_CW)
_SECOND_TABLE: Final = _quantized(tuple(range(len(_SECONDS))), _SECOND_CW)
_FEMALE_TABLE: Final = _quantized(_FEMALE_IDX, _FEMALE_CW)
_MALE_TABLE: Final = _quantized(_MALE_IDX, _MALE_CW)
_DRAWS: Final = 11  # random numbers per person, always all of them (prefix stability)


def people(
    seed: int | str, generation: int, key: StreamKey, places: Places, n: int, size: int = 4096
) -> Iterator[PeopleChunk]:
    """The first ``n`` people of stream ``key``, in chunks of at most ``size``.

    Each person consumes exactly ``_DRAWS`` numbers of the stream's generator, so person ``k``
    is the same whatever ``n`` and ``size`` are.
    """
    state, municipality, age, sex = key
    rng = Random(f"{seed}/{generation}/{state}/{municipality}/{age}/{sex}")
    rand = rng.random
    table, table_cw = places.table(state, municipality)
    total_place = table_cw[-1]
    places_hi = len(table) - 1
    births = places.birth_table(state)
    givens_table = _FEMALE_TABLE if sex == "M" else _MALE_TABLE
    birthdays = _birthdays(age)
    disability = _disability_share(age)
    indigenous = _INDIGENOUS.get(state, 0.10)
    state_part = _CURPS.state_part
    build_many = _CURPS.build_many
    seen: set[str] = set()
    q = _TABLE
    done = 0
    while done < n:
        m = min(size, n - done)
        done += m
        u = [rand() for _ in repeat(None, _DRAWS * m)]
        where = [
            table[min(bisect_right(table_cw, x * total_place), places_hi)] for x in u[0::_DRAWS]
        ]
        firsts = [_FIRST_TABLE[int(x * q)] for x in u[1::_DRAWS]]
        seconds = [_SECOND_TABLE[int(x * q)] for x in u[2::_DRAWS]]
        givens = [givens_table[int(x * q)] for x in u[3::_DRAWS]]
        days = [birthdays[int(x * 364)] for x in u[4::_DRAWS]]
        born_in = [births[int(x * q)] for x in u[5::_DRAWS]]
        homos = [int(x * 50) for x in u[6::_DRAWS]]
        sexes = ["X" if x < 0.0005 else sex for x in u[7::_DRAWS]]
        curps = build_many(
            firsts, seconds, givens, [d[1] for d in days],
            [state_part[k] for k in zip(sexes, born_in, strict=True)], homos, seen,
        )  # fmt: skip
        addresses = [
            _RURAL_ADDRESS
            if w[2] and x < 0.6
            else f"{_STREET_PARTS[int(x * 24)]}{_NUMBERS[int(x * 9600) % 400]}"
            f"{_COLONIA_PARTS[int(x * 172800) % 18]}"
            for w, x in zip(where, u[8::_DRAWS], strict=True)
        ]
        yield PeopleChunk(
            curp=curps,
            primer_apellido=[_SURNAMES[i] for i in firsts],
            segundo_apellido=[_SECONDS[i] for i in seconds],
            nombre=[_GIVEN[i] for i in givens],
            fecha_nacimiento=[d[0] for d in days],
            sexo=sexes,
            entidad_nacimiento=born_in,
            cve_mun=[w[0] for w in where],
            cve_loc=[w[1] for w in where],
            domicilio=addresses,
            discapacidad=["S" if x < disability else "N" for x in u[9::_DRAWS]],
            indigena=["S" if x < indigenous else "N" for x in u[10::_DRAWS]],
            born_ordinal=[d[2] for d in days],
        )
