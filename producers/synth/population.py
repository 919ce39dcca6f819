"""A deterministic universe of synthetic people per seed, shared by every agreement.

People live in streams keyed by (state of residence, five-year age band); person ``k`` of a stream
depends only on the seed, the stream and ``k`` (streams grow in fixed blocks, each block seeded by
its own key), so two agreements generated with the same seed draw the same people wherever their
programs overlap (same ages, same state). Within a stream the municipality follows the 2020
population, the locality its own population; names follow ``producers.synth.names``; the CURP is
built from the record itself (letters, birth date, sex, birth state) with the validation's own
rules, so it is always consistent with the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from itertools import accumulate
from random import Random
from typing import Final

from hub.validation.curp_rules import CHECK_VALUES, CVE_ENT_TO_RENAPO
from hub.validation.curp_stem import name_letters
from producers.synth.geo import GeoPools
from producers.synth.names import FEMALE_NAMES, MALE_NAMES, NO_SECOND_SURNAME_SHARE, SURNAMES

__all__ = ["AGE_BAND_WEIGHTS", "REFERENCE_DATE", "Person", "Universe"]

#: Ages are whole years on this date; birth dates are spread so that holds for everyone.
REFERENCE_DATE: Final = date(2026, 1, 1)

#: Share (per mille) of the population in each five-year band 0-4 ... 100-104 (Censo 2020 shape).
AGE_BAND_WEIGHTS: Final = (
    81, 86, 86, 85, 83, 79, 74, 70, 68, 62, 56, 46, 37, 29, 21, 14, 9, 5, 2, 1, 1,
)  # fmt: skip

_BLOCKS: Final = (64, 64, 128, 256)
_BLOCK_MAX: Final = 512

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

_SURNAME_NAMES = tuple(s for s, _ in SURNAMES)
_SURNAME_CW = tuple(accumulate(w for _, w in SURNAMES))
_FEMALE = tuple(n for n, _ in FEMALE_NAMES)
_FEMALE_CW = tuple(accumulate(w for _, w in FEMALE_NAMES))
_MALE = tuple(n for n, _ in MALE_NAMES)
_MALE_CW = tuple(accumulate(w for _, w in MALE_NAMES))
_DIGITS = "0123456789"
_LETTERS = "ABCDEFGHIJKLMNPQRSTUVWXYZ"


@dataclass(frozen=True, slots=True)
class Person:
    """One synthetic person; ``segundo_apellido`` is empty for people with one surname."""

    uid: str
    curp: str
    primer_apellido: str
    segundo_apellido: str
    nombre: str
    fecha_nacimiento: date
    sexo: str
    entidad_nacimiento: str  # INEGI CVE_ENT, or NE (born abroad)
    cve_ent: str
    cve_mun: str
    cve_loc: str
    ambito: str  # URBANO | RURAL
    domicilio: str
    discapacidad: bool
    indigena: bool

    def age_on(self, on: date) -> int:
        """Whole years on ``on``."""
        born = self.fecha_nacimiento
        return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _female_share(band: int) -> float:
    return 0.49 if band < 9 else 0.52 if band < 13 else 0.55 if band < 16 else 0.60


def _disability_share(age: int) -> float:
    return 0.02 if age < 15 else 0.04 if age < 60 else 0.15 if age < 75 else 0.35


class _Stream:
    """People of one (state, age band), generated block by block on demand."""

    __slots__ = ("_key", "_universe", "blocks", "curps", "people")

    def __init__(self, universe: Universe, key: tuple[str, int]) -> None:
        self._universe = universe
        self._key = key
        self.people: list[Person] = []
        self.curps: set[str] = set()
        self.blocks = 0

    def __getitem__(self, k: int) -> Person:
        while k >= len(self.people):
            self._universe._fill(self, self._key, self.blocks)
            self.blocks += 1
        return self.people[k]


class Universe:
    """Everyone for one seed: ``universe.person(cve_ent, band, k)``."""

    def __init__(self, seed: int, geo: GeoPools) -> None:
        self.seed = seed
        self.geo = geo
        self._streams: dict[tuple[str, int], _Stream] = {}

    def person(self, cve_ent: str, band: int, k: int) -> Person:
        """Person ``k`` of the residents of ``cve_ent`` aged ``5*band`` to ``5*band+4``."""
        key = (cve_ent, band)
        stream = self._streams.get(key)
        if stream is None:
            stream = self._streams[key] = _Stream(self, key)
        return stream[k]

    def _fill(self, stream: _Stream, key: tuple[str, int], block: int) -> None:
        cve_ent, band = key
        start = len(stream.people)
        n = _BLOCKS[block] if block < len(_BLOCKS) else _BLOCK_MAX
        rng = Random(f"{self.seed}/{cve_ent}/{band}/{start}")
        geo = self.geo
        female = _female_share(band)
        base = REFERENCE_DATE.toordinal()
        muns = rng.choices(geo.municipalities[cve_ent], cum_weights=geo.mun_weights[cve_ent], k=n)
        firsts = rng.choices(_SURNAME_NAMES, cum_weights=_SURNAME_CW, k=n)
        seconds = rng.choices(_SURNAME_NAMES, cum_weights=_SURNAME_CW, k=n)
        women = rng.choices(_FEMALE, cum_weights=_FEMALE_CW, k=n)
        men = rng.choices(_MALE, cum_weights=_MALE_CW, k=n)
        others = rng.choices(geo.states, cum_weights=geo.state_weights, k=n)
        streets = rng.choices(_STREETS, k=n)
        colonias = rng.choices(_COLONIAS, k=n)
        indigenous = _INDIGENOUS.get(cve_ent, 0.10)
        rand = rng.random
        curps = stream.curps
        out = stream.people
        for i in range(n):
            r = rand()
            sexo = "X" if r < 0.0005 else "M" if r < female else "H"
            nombre = women[i] if sexo == "M" or (sexo == "X" and rand() < 0.5) else men[i]
            age = 5 * band + int(rand() * 5)
            # ``age`` whole years on REFERENCE_DATE, birthday spread over the year
            born = date.fromordinal(base - int(365.25 * age) - 1 - int(rand() * 364))
            r = rand()
            birth_state = "NE" if r < 0.005 else others[i] if r < 0.15 else cve_ent
            cve_mun = muns[i]
            cve_loc, ambito = geo.locality(cve_ent, cve_mun, rand())
            segundo = "" if rand() < NO_SECOND_SURNAME_SHARE else seconds[i]
            renapo = CVE_ENT_TO_RENAPO[_inegi(birth_state)]
            word, consonants = name_letters(firsts[i], segundo or None, nombre)
            ymd = f"{born.year % 100:02d}{born.month:02d}{born.day:02d}"
            head = _part(word, 0) + _part(ymd, 4) + _part(sexo + renapo, 10) + _part(consonants, 13)
            stem = f"{word}{ymd}{sexo}{renapo}{consonants}"
            pool = _DIGITS if born.year < 2000 else _LETTERS
            j = int(rand() * len(pool))
            curp = _with_check(stem, head, pool[j])
            while curp in curps:  # RENAPO's homoclave tells apart people with the same stem
                j = (j + 1) % len(pool)
                curp = _with_check(stem, head, pool[j])
            curps.add(curp)
            if ambito == "RURAL" and rand() < 0.6:
                domicilio = "DOMICILIO CONOCIDO"
            else:
                domicilio = f"CALLE {streets[i]} {1 + int(rand() * 400)} COL. {colonias[i]}"
            out.append(
                Person(
                    uid=f"{cve_ent}-{band}-{start + i}",
                    curp=curp,
                    primer_apellido=firsts[i],
                    segundo_apellido=segundo,
                    nombre=nombre,
                    fecha_nacimiento=born,
                    sexo=sexo,
                    entidad_nacimiento=birth_state,
                    cve_ent=cve_ent,
                    cve_mun=cve_mun,
                    cve_loc=cve_loc,
                    ambito=ambito,
                    domicilio=domicilio,
                    discapacidad=rand() < _disability_share(age),
                    indigena=rand() < indigenous,
                )
            )


@lru_cache(maxsize=1 << 16)
def _part(text: str, offset: int) -> int:
    """Check-digit sum of ``text`` placed at 0-based ``offset`` of the CURP (weights 18 down)."""
    return sum(CHECK_VALUES[c] * (18 - offset - i) for i, c in enumerate(text))


def _with_check(stem16: str, stem_sum: int, homoclave: str) -> str:
    """The CURP from its stem (whose check sum is known), differentiator and check digit."""
    total = stem_sum + CHECK_VALUES[homoclave] * 2
    return f"{stem16}{homoclave}{(10 - total % 10) % 10}"


def _inegi(state: str) -> str:
    return "99" if state == "NE" else state
