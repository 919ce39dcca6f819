"""Synthetic socioeconomic surveys (CUIS-like): households, dwellings and members, one row each.

Each household first gets a CONEVAL class (pobreza extrema, moderada, vulnerable por carencias,
vulnerable por ingreso, no pobre) with rural/urban shares that reproduce the 2022 national figures
(≈36% pobreza, ≈7% extrema), then a set of deprivations and an income per person consistent with
it (poverty lines of January 2025), and finally the answers that produce exactly those
deprivations: schooling, health affiliation, social security and pensions, dwelling materials and
space, services, and the ELCSA food-security items. The head of the household comes from the
people streams padrones draw their base roll from (``producers.synth.people``, so surveyed people
also appear in padrones); the rest are synthesised in the head's locality with consistent surnames
and CURPs.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from random import Random
from typing import Final

from hub.agreements.model import Agreement
from hub.errors import AgreementError
from hub.validation.curp import build_curp
from hub.validation.curp_rules import CVE_ENT_TO_RENAPO
from hub.validation.curp_stem import curp_stem
from producers.synth.errors import ErrorInjector
from producers.synth.geo import GeoPools, load_pools
from producers.synth.names import FEMALE_NAMES, MALE_NAMES, SURNAMES
from producers.synth.people import Places, StreamKey, people
from producers.synth.plan import female_share
from producers.synth.record import SynthRecord, Value

__all__ = ["CLASS_SHARES", "POVERTY_LINES", "generate_households"]

#: Monthly poverty lines per person, January 2025 (CONEVAL/INEGI): (LPEI, LPI).
POVERTY_LINES: Final = {"URBANO": (2366.33, 4660.52), "RURAL": (1795.77, 3342.21)}

#: Household class shares by ámbito: extrema, moderada, vulnerable carencias, vulnerable ingreso.
CLASS_SHARES: Final = {
    "RURAL": (0.15, 0.34, 0.31, 0.03),
    "URBANO": (0.045, 0.28, 0.28, 0.085),
}
_SIZES: Final = (1, 2, 3, 4, 5, 6, 7, 8, 9)
_SIZE_WEIGHTS: Final = (11, 20, 21, 22, 14, 7, 3, 1.2, 0.8)
_DEPRIVATIONS: Final = ("educacion", "salud", "seguridad", "vivienda", "servicios", "alimentacion")
_DEPRIVATION_WEIGHTS: Final = (19, 16, 50, 9, 18, 19)  # national incidence shape, percent
_LEVEL_GRADES: Final = {
    "PRIMARIA": 6, "SECUNDARIA": 3, "MEDIA_SUPERIOR": 3, "SUPERIOR": 4, "PREESCOLAR": 3,
}  # fmt: skip


def _pick_deprivations(rng: Random, k: int) -> set[str]:
    chosen: set[str] = set()
    while len(chosen) < k:
        chosen.add(rng.choices(_DEPRIVATIONS, weights=_DEPRIVATION_WEIGHTS)[0])
    return chosen


def _class_of(rng: Random, ambito: str) -> tuple[float, set[str]]:
    """Income per person and deprivations of one household."""
    lpei, lpi = POVERTY_LINES[ambito]
    extreme, moderate, vul_car, vul_inc = CLASS_SHARES[ambito]
    r = rng.random()
    if r < extreme:
        return lpei * rng.uniform(0.3, 0.95), _pick_deprivations(rng, rng.choice((3, 3, 4, 5)))
    if r < extreme + moderate:
        return rng.uniform(lpei * 1.02, lpi * 0.97), _pick_deprivations(rng, rng.choice((1, 2, 3)))
    if r < extreme + moderate + vul_car:
        return lpi * rng.uniform(1.05, 2.5), _pick_deprivations(rng, rng.choice((1, 1, 2, 3)))
    if r < extreme + moderate + vul_car + vul_inc:
        return rng.uniform(lpei * 1.02, lpi * 0.97), set()
    return lpi * rng.uniform(1.05, 6.0), set()


def _level_for(age: int, deprived: bool, born: int, rng: Random) -> tuple[str, int, bool]:
    """(nivel_escolar, grado_aprobado, asiste_escuela) for someone of ``age``."""
    if age < 3:
        return "NINGUNO", 0, False
    if age <= 5:
        return "PREESCOLAR", max(0, age - 3), True
    if age <= 11:
        return "PRIMARIA", age - 6, True
    if age <= 14:
        return "SECUNDARIA", age - 12, True
    if age <= 17:
        if rng.random() < 0.75:
            return "MEDIA_SUPERIOR", age - 15, True
        return "SECUNDARIA", 3, False
    if deprived:  # without primaria, or (born from 1982) without secundaria
        if born >= 1982 or rng.random() < 0.5:
            return "PRIMARIA", int(rng.random() * 5), False
        return "NINGUNO", 0, False
    if rng.random() < 0.25 and age <= 24:
        return "SUPERIOR", min(4, age - 18), True
    level = rng.choices(("SECUNDARIA", "MEDIA_SUPERIOR", "SUPERIOR"), weights=(45, 35, 20))[0]
    return level, _LEVEL_GRADES[level], False


@dataclass(frozen=True, slots=True)
class _Head:
    """The head of a household: a person of the shared streams, with the ámbito of their home."""

    curp: str
    primer_apellido: str
    segundo_apellido: str | None
    nombre: str
    fecha_nacimiento: date
    sexo: str
    entidad_nacimiento: str  # INEGI CVE_ENT, or NE (born abroad)
    cve_ent: str
    cve_mun: str
    cve_loc: str
    ambito: str  # URBANO | RURAL
    indigena: str  # S | N


class _Households:
    def __init__(self, seed: int, geo: GeoPools, survey_date: date) -> None:
        self.seed = seed
        self.places = Places(geo)
        self.geo = geo
        self.survey_date = survey_date
        self.streams: dict[StreamKey, Iterator[_Head]] = {}
        self.curps: set[str] = set()

    def head(self, rng: Random) -> _Head:
        """The next unused person of a stream drawn by state population, age band and sex."""
        geo = self.geo
        state = rng.choices(geo.states, cum_weights=geo.state_weights)[0]
        band = rng.choices(range(4, 17), weights=(6, 9, 10, 10, 10, 10, 9, 8, 7, 6, 5, 4, 3))[0]
        age = 5 * band + int(rng.random() * 5)
        sex = "M" if rng.random() < female_share(age) else "H"
        key: StreamKey = (state, None, age, sex)
        stream = self.streams.get(key)
        if stream is None:
            stream = self.streams[key] = self._heads(key)
        return next(stream)

    def _heads(self, key: StreamKey) -> Iterator[_Head]:
        """The people of ``key`` in order: the base roll's generation, so heads are in padrones."""
        state = key[0]
        ambitos: dict[str, dict[str, str]] = {}
        for chunk in people(self.seed, 1, key, self.places, sys.maxsize, size=64):
            for i, mun in enumerate(chunk.cve_mun):
                found = ambitos.get(mun)
                if found is None:
                    found = ambitos[mun] = dict(self.geo.localities[(state, mun)])
                yield _Head(
                    curp=chunk.curp[i],
                    primer_apellido=chunk.primer_apellido[i],
                    segundo_apellido=chunk.segundo_apellido[i],
                    nombre=chunk.nombre[i],
                    fecha_nacimiento=chunk.fecha_nacimiento[i],
                    sexo=chunk.sexo[i],
                    entidad_nacimiento=chunk.entidad_nacimiento[i],
                    cve_ent=state,
                    cve_mun=mun,
                    cve_loc=chunk.cve_loc[i],
                    ambito=found[chunk.cve_loc[i]],
                    indigena=chunk.indigena[i],
                )

    def member(
        self, rng: Random, head: _Head, age: int, sexo: str, primer: str, segundo: str
    ) -> dict[str, Value]:
        born = date.fromordinal(
            self.survey_date.toordinal() - int(365.25 * age) - 1 - int(rng.random() * 360)
        )
        pool = FEMALE_NAMES if sexo == "M" else MALE_NAMES
        nombre = rng.choices([n for n, _ in pool], weights=[w for _, w in pool])[0]
        state = head.cve_ent if rng.random() < 0.9 else head.entidad_nacimiento
        renapo = CVE_ENT_TO_RENAPO["99" if state == "NE" else state]
        stem = curp_stem(primer, segundo or None, nombre, born, sexo, renapo)
        homoclaves = "0123456789" if born.year < 2000 else "ABCDEFGHIJKLMNPQRSTUVWXYZ"
        j = int(rng.random() * len(homoclaves))
        curp = build_curp(stem, homoclaves[j])
        while curp in self.curps:
            j = (j + 1) % len(homoclaves)
            curp = build_curp(stem, homoclaves[j])
        self.curps.add(curp)
        return {
            "curp": curp, "primer_apellido": primer, "segundo_apellido": segundo or None,
            "nombre": nombre, "fecha_nacimiento": born, "sexo": sexo, "edad": str(age),
            "entidad_nacimiento": state,
        }  # fmt: skip


def _dwelling(rng: Random, deprived: set[str], ambito: str, size: int) -> dict[str, Value]:
    rural = ambito == "RURAL"
    values: dict[str, Value] = {
        "material_piso": "RECUBRIMIENTO" if rng.random() < 0.5 else "CEMENTO",
        "material_techo": "LOSA" if rng.random() < 0.7 else "LAMINA_METALICA",
        "material_muros": "TABIQUE",
        "cuartos_dormir": str(max(1, -(-size // 2))),
        "fuente_agua": "DENTRO_VIVIENDA" if rng.random() < 0.75 else "DENTRO_TERRENO",
        "drenaje": "RED_PUBLICA" if not rural or rng.random() < 0.5 else "FOSA_SEPTICA",
        "electricidad": "S",
        "combustible_cocina": "GAS",
        "chimenea": None,
    }
    if "vivienda" in deprived:
        which = rng.choice(("piso", "techo", "muros", "hacinamiento"))
        if which == "piso":
            values["material_piso"] = "TIERRA"
        elif which == "techo":
            values["material_techo"] = rng.choice(("LAMINA_CARTON", "DESECHO"))
        elif which == "muros":
            values["material_muros"] = rng.choice(("EMBARRO", "LAMINA_CARTON", "CARRIZO_BAMBU"))
        else:
            values["cuartos_dormir"] = "1" if size >= 3 else values["cuartos_dormir"]
            if size < 3:
                values["material_piso"] = "TIERRA"
    if "servicios" in deprived:
        which = rng.choice(("agua", "drenaje", "luz", "lena"))
        if which == "agua":
            values["fuente_agua"] = rng.choice(("LLAVE_PUBLICA", "PIPA", "POZO_RIO"))
        elif which == "drenaje":
            values["drenaje"] = rng.choice(("NO_TIENE", "BARRANCA_RIO"))
        elif which == "luz":
            values["electricidad"] = "N"
        else:
            values["combustible_cocina"] = "LENA_CARBON"
            values["chimenea"] = "N"
    elif rural and rng.random() < 0.3:
        values["combustible_cocina"] = "LENA_CARBON"
        values["chimenea"] = "S"
    return values


def _food(rng: Random, deprived: bool, minors: bool) -> dict[str, Value]:
    """ELCSA answers: moderate or severe insecurity (several yes) when deprived."""
    yes = rng.randint(4, 6) if deprived else 0
    adult = ["S" if i < yes else "N" for i in range(6)]
    rng.shuffle(adult)
    values: dict[str, Value] = {f"inseg_alim_{i + 1}": v for i, v in enumerate(adult)}
    for i in range(7, 13):
        answer = "S" if deprived and rng.random() < 0.6 else "N"
        values[f"inseg_alim_{i}"] = answer if minors else None
    return values


def _age_on(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _household(gen: _Households, rng: Random, folio: str, surveyed: date) -> list[SynthRecord]:
    head = gen.head(rng)
    ambito = head.ambito
    income_pc, deprived = _class_of(rng, ambito)
    size = rng.choices(_SIZES, weights=_SIZE_WEIGHTS)[0]
    head_age = _age_on(head.fecha_nacimiento, surveyed)
    surnames = [s for s, _ in SURNAMES]
    weights = [w for _, w in SURNAMES]
    members: list[tuple[dict[str, Value], str]] = [
        (
            {
                "curp": head.curp, "primer_apellido": head.primer_apellido,
                "segundo_apellido": head.segundo_apellido, "nombre": head.nombre,
                "fecha_nacimiento": head.fecha_nacimiento, "sexo": head.sexo,
                "edad": str(head_age),
            },
            "JEFE",
        )
    ]  # fmt: skip
    partner_surname = rng.choices(surnames, weights=weights)[0]
    if size >= 2 and rng.random() < 0.75:
        sexo = "H" if head.sexo == "M" else "M"
        age = max(18, head_age + rng.randint(-6, 4))
        second = rng.choices(surnames, weights=weights)[0]
        members.append((gen.member(rng, head, age, sexo, partner_surname, second), "CONYUGE"))
    father, mother = (
        (head.primer_apellido, partner_surname)
        if head.sexo == "H"
        else (partner_surname, head.primer_apellido)
    )
    while len(members) < size:
        if size >= 5 and len(members) == size - 1 and rng.random() < 0.3:
            age = min(95, head_age + rng.randint(20, 30))
            member = gen.member(
                rng,
                head,
                age,
                rng.choice("HM"),
                head.segundo_apellido or head.primer_apellido,
                rng.choices(surnames, weights=weights)[0],
            )
            members.append((member, "OTRO_PARIENTE"))
            continue
        age = rng.randint(0, max(0, min(head_age - 16, 30)))
        members.append((gen.member(rng, head, age, rng.choice("HM"), father, mother), "HIJO"))

    minors = any(int(str(m["edad"])) < 18 for m, _ in members)
    household: dict[str, Value] = {
        "folio_hogar": folio,
        "fecha_levantamiento": surveyed,
        "cve_ent": head.cve_ent,
        "cve_mun": head.cve_mun,
        "cve_loc": head.cve_loc,
        "cvegeo": head.cve_ent + head.cve_mun + head.cve_loc,
        **_dwelling(rng, deprived, ambito, size),
        **_food(rng, "alimentacion" in deprived, minors),
    }
    # who carries the educational lag: an adult, or a school-age child out of school
    lagged = rng.randrange(len(members)) if "educacion" in deprived else -1
    uninsured = rng.randrange(len(members)) if "salud" in deprived else -1
    total = Decimal(str(round(income_pc * size, 2)))
    rows: list[dict[str, Value]] = []
    workers: list[dict[str, Value]] = []
    programs = Decimal(0)
    for i, (member, parentesco) in enumerate(members):
        age = int(str(member["edad"]))
        born = member["fecha_nacimiento"]
        assert isinstance(born, date)
        level, grade, attends = _level_for(age, i == lagged and age >= 18, born.year, rng)
        if i == lagged and 6 <= age <= 15:
            attends = False
        elif i == lagged and age < 18:
            level, grade, attends = "NINGUNO", 0, False
        works = 18 <= age < 65 and rng.random() < (0.92 if parentesco == "JEFE" else 0.5)
        insured = works and "seguridad" not in deprived and rng.random() < 0.85
        if works and "seguridad" not in deprived and parentesco == "JEFE":
            insured = True
        elderly = age >= 65
        pension_nc = elderly and "seguridad" not in deprived
        health = (
            "NINGUNA" if i == uninsured
            else rng.choice(("IMSS", "IMSS", "ISSSTE")) if insured
            else "IMSS_BIENESTAR"
        )  # fmt: skip
        if pension_nc:
            programs += Decimal("3100.00")
        row: dict[str, Value] = {
            **household,
            **member,
            "num_integrante": str(i + 1),
            "parentesco": parentesco,
            "nivel_escolar": level,
            "grado_aprobado": str(grade),
            "asiste_escuela": "S" if attends else "N",
            "afiliacion_salud": health,
            "trabaja": "S" if works else "N",
            "seguridad_social": "S" if insured else "N",
            "afore": "S" if insured and rng.random() < 0.6 else "N",
            "pension_contributiva": "S" if elderly and insured else "N",
            "pension_no_contributiva": "S" if pension_nc else "N",
            "ingreso_trabajo": Decimal(0),
            "ingreso_transferencias": Decimal(0),
            "ingreso_programas": Decimal("3100.00") if pension_nc else Decimal(0),
            "ingreso_otros": Decimal(0),
            "discapacidad": "S" if rng.random() < (0.15 if elderly else 0.04) else "N",
            "indigena": head.indigena,
        }
        if i == 0:
            row["entidad_nacimiento"] = head.entidad_nacimiento
        rows.append(row)
        if works:
            workers.append(row)
    rest = max(Decimal(0), total - programs)
    if rng.random() < 0.12 and rest > 0:  # remittances
        share = (rest * Decimal("0.3")).quantize(Decimal("0.01"))
        rows[0]["ingreso_transferencias"] = share
        rest -= share
    if workers:
        for n, worker in enumerate(workers):
            part = (rest / (len(workers) - n)).quantize(Decimal("0.01"))
            worker["ingreso_trabajo"] = part
            rest -= part
    else:
        rows[0]["ingreso_otros"] = rest.quantize(Decimal("0.01"))
    return [
        SynthRecord(reference_id=f"{folio}-{row['num_integrante']}", values=row) for row in rows
    ]


def generate_households(
    agreement: Agreement,
    households: int,
    seed: int,
    error_rate: float = 0.0,
    *,
    geo: GeoPools | None = None,
    today: date | None = None,
) -> Iterator[SynthRecord]:
    """The rows (one per member) of ``households`` surveyed households for an encuesta agreement."""
    if agreement.kind != "encuesta":
        raise AgreementError(
            f"el convenio {agreement.id} es de tipo '{agreement.kind}', no de encuesta",
            hint="use 'sisi synth padron' para convenios de padrón",
        )
    today = today or date.today()
    pools = geo or load_pools()
    start = agreement.valid_from
    end = min(start + timedelta(days=180), today - timedelta(days=1))
    gen = _Households(seed, pools, start)
    rng = Random(f"{seed}/{agreement.id}/hogares")

    def rows() -> Iterator[SynthRecord]:
        for h in range(1, households + 1):
            surveyed = start + timedelta(days=int(rng.random() * max(1, (end - start).days)))
            yield from _household(gen, rng, f"H{seed % 1000:03d}{h:07d}", surveyed)

    if error_rate <= 0:
        return rows()
    injector = ErrorInjector(
        agreement.layout, pools, Random(f"{seed}/{agreement.id}/err/hogares"), today
    )
    return injector.inject(rows(), error_rate)
