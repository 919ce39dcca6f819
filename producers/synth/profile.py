"""Who a program serves, read from its CEL eligibility rule: the ages and sexes to draw people from.

The rule is evaluated (never parsed by hand) over every age and sex under two household profiles,
an ordinary one and a poor, vulnerable one, so that ``edad >= 60 && hogar.pobreza_extrema`` still
opens ages 60-64. Rules about schooling and not age (``nivel_escolar == "MEDIA_SUPERIOR"``) get
the typical ages of that level; rules with no age condition get adult ages (the titular).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

from hub.agreements.eligibility import VARIABLES, evaluate

__all__ = ["MAX_AGE", "ProgramProfile", "program_profile"]

MAX_AGE: Final = 100

#: Typical ages of students at each school level (Mexican system).
_LEVEL_AGES: Final[dict[str, tuple[int, int]]] = {
    "PREESCOLAR": (3, 5),
    "PRIMARIA": (6, 12),
    "SECUNDARIA": (12, 15),
    "MEDIA_SUPERIOR": (15, 18),
    "SUPERIOR": (18, 24),
}


@dataclass(frozen=True)
class ProgramProfile:
    """Ages (inclusive range) and sexes a program's beneficiaries have."""

    min_age: int
    max_age: int
    sexes: frozenset[str]
    school_level: str | None = None


def _variables(
    age: int, sex: str, state: str | None, mun: str | None, vulnerable: bool, level: str
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {"persona": {}, "hogar": {}}
    for name, (_type, _text, sample) in VARIABLES.items():
        root, field = name.split(".", 1)
        out[root][field] = sample
    persona, hogar = out["persona"], out["hogar"]
    persona.update(edad=age, sexo=sex, nivel_escolar=level)
    if state is not None:
        hogar["cve_ent"] = state
        persona["entidad_nacimiento"] = state
    if mun is not None:
        hogar["cve_mun"] = mun
    if vulnerable:
        persona.update(
            asiste_escuela=True, discapacidad=True, indigena=True, parentesco="JEFE",
            seguridad_social=False, pension_contributiva=False, trabaja=False,
        )  # fmt: skip
        hogar.update(
            pobreza=True, pobreza_extrema=True, vulnerable_carencias=True,
            vulnerable_ingreso=True, carencias=4, ingreso_per_capita=900.0, menores=2,
            ambito="rural", rezago_educativo=True, carencia_alimentacion=True,
        )  # fmt: skip
    return out


@lru_cache(maxsize=64)
def program_profile(expression: str, state: str | None, municipality: str | None) -> ProgramProfile:
    """The ages and sexes that can satisfy ``expression`` for an agency in ``state``/``mun``."""

    def passes(age: int, sex: str, level: str) -> bool:
        return any(
            evaluate(expression, _variables(age, sex, state, municipality, vulnerable, level))
            for vulnerable in (False, True)
        )

    # Which school levels can pass at all (a coarse age grid is enough to tell).
    passing_levels = [
        level
        for level in ("SECUNDARIA", *_LEVEL_AGES)
        if any(passes(age, sex, level) for age in range(0, MAX_AGE + 1, 5) for sex in "HMX")
    ]
    probe = passing_levels[0] if passing_levels else "SECUNDARIA"
    ages: set[int] = set()
    sexes: set[str] = set()
    for sex in "HMX":
        for age in range(MAX_AGE + 1):
            if passes(age, sex, probe):
                ages.add(age)
                sexes.add(sex)
    if not ages:
        return ProgramProfile(18, 90, frozenset({"H", "M"}))
    lo, hi = min(ages), max(ages)
    level = passing_levels[0] if len(passing_levels) == 1 else None
    if level in _LEVEL_AGES and lo == 0 and hi == MAX_AGE:
        lo, hi = _LEVEL_AGES[level]
    elif lo == 0 and hi == MAX_AGE:
        lo, hi = (18, 64) if "hogar.menores" in expression else (18, 90)
    return ProgramProfile(lo, hi, frozenset(sexes), level)
