"""How many people a padrón takes from each stream, and how big each delivery's altas are.

A program's streams are the (state, age, sex) cells its eligibility rule admits
(``producers.synth.profile`` reads the ages and sexes from the CEL rule once), weighted by the
2020 population of the state, the age's share of the population and the sex ratio at that age.
A roll of N people is apportioned over them by largest remainder, so counts are exact and
deterministic without any draw. Churn sizes follow the expected roll: delivery g adds
``round(E[g-1] * alta)`` people, where ``E`` shrinks by the baja share and grows by the altas.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from producers.synth.geo import GeoPools
from producers.synth.people import StreamKey
from producers.synth.profile import ProgramProfile

__all__ = ["AGE_BAND_WEIGHTS", "apportion", "segment_sizes", "stream_weights"]

#: Share (per mille) of the population in each five-year band 0-4 ... 100-104 (Censo 2020 shape).
AGE_BAND_WEIGHTS: Final = (
    81, 86, 86, 85, 83, 79, 74, 70, 68, 62, 56, 46, 37, 29, 21, 14, 9, 5, 2, 1, 1,
)  # fmt: skip


def female_share(age: int) -> float:
    """Share of women at ``age`` (more women among older people)."""
    return 0.49 if age < 45 else 0.52 if age < 65 else 0.55 if age < 80 else 0.60


def stream_weights(
    profile: ProgramProfile, geo: GeoPools, state: str | None, municipality: str | None
) -> list[tuple[StreamKey, float]]:
    """The streams a program draws from and their population weights, in a fixed order."""
    if state is not None:
        states: Sequence[tuple[str, float]] = [(state, 1.0)]
        if municipality is not None:
            states = [(state, float(geo.mun_population[(state, municipality)]))]
    else:
        states = [(e, float(geo.state_population(e))) for e in geo.states]
    sexes = [s for s in ("H", "M") if s in profile.sexes] or ["H", "M"]
    out: list[tuple[StreamKey, float]] = []
    for cve_ent, population in states:
        for age in range(profile.min_age, profile.max_age + 1):
            share = AGE_BAND_WEIGHTS[min(age // 5, len(AGE_BAND_WEIGHTS) - 1)] / 5
            for sex in sexes:
                female = female_share(age)
                weight = population * share * (female if sex == "M" else 1 - female)
                out.append(((cve_ent, municipality, age, sex), weight))
    return out


def apportion(total: int, weights: Sequence[float]) -> list[int]:
    """``total`` split in proportion to ``weights`` by largest remainder (ties: first wins)."""
    whole = sum(weights)
    if total <= 0 or whole <= 0:
        return [0] * len(weights)
    quotas = [total * w / whole for w in weights]
    counts = [int(q) for q in quotas]
    left = total - sum(counts)
    order = sorted(range(len(weights)), key=lambda i: (counts[i] - quotas[i], i))
    for i in order[:left]:
        counts[i] += 1
    return counts


def segment_sizes(people: int, deliveries: int, baja: float, alta: float) -> list[int]:
    """Rows added in each delivery: ``people`` in the first, then the expected altas."""
    sizes = [people]
    expected = float(people)
    for _ in range(1, deliveries):
        added = round(expected * alta)
        sizes.append(added)
        expected = expected * (1 - baja) + added
    return sizes
