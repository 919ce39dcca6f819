"""Where synthetic people live: INEGI states, municipalities and localities weighted by population.

Built once from the validation's ``GeoCatalog`` (the same catalog that later checks the keys), so
every generated key exists in it. Municipalities with no population in 2020 or no locality in the
(partial) locality catalog are left out; a locality is drawn by its own population.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate

from hub.validation.geography import GeoCatalog

__all__ = ["GeoPools", "load_pools"]


@dataclass(frozen=True)
class GeoPools:
    """Cumulative-weight tables for drawing a state, a municipality and a locality."""

    states: tuple[str, ...]
    state_weights: tuple[int, ...]  # cumulative
    municipalities: dict[str, tuple[str, ...]]  # cve_ent -> cve_mun
    mun_weights: dict[str, tuple[int, ...]]  # cumulative
    mun_population: dict[tuple[str, str], int]
    localities: dict[tuple[str, str], tuple[tuple[str, str], ...]]  # -> (cve_loc, AMBITO)
    loc_weights: dict[tuple[str, str], tuple[float, ...]]  # cumulative, normalised to 1
    known_municipalities: frozenset[tuple[str, str]]

    def locality(self, cve_ent: str, cve_mun: str, u: float) -> tuple[str, str]:
        """The locality (``cve_loc``, ``AMBITO``) at quantile ``u`` in [0, 1) of the population."""
        key = (cve_ent, cve_mun)
        weights = self.loc_weights[key]
        return self.localities[key][min(bisect_right(weights, u), len(weights) - 1)]

    def state_population(self, cve_ent: str) -> int:
        """Population of a state counting only the municipalities people are drawn from."""
        return sum(p for (e, _m), p in self.mun_population.items() if e == cve_ent)


@lru_cache(maxsize=4)
def load_pools(catalog: GeoCatalog | None = None) -> GeoPools:
    """The pools for ``catalog`` (default: ``GeoCatalog.load()`` from the reference data)."""
    catalog = catalog or GeoCatalog.load()
    municipalities: dict[str, list[str]] = {}
    populations: dict[tuple[str, str], int] = {}
    localities: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {}
    loc_weights: dict[tuple[str, str], tuple[float, ...]] = {}
    known: set[tuple[str, str]] = set()
    for mun in catalog.municipalities():
        key = (mun.cve_ent, mun.cve_mun)
        known.add(key)
        locs = [loc for loc in catalog.localities_of(*key) if loc.population and loc.ambito]
        if mun.population <= 0 or not locs:
            continue
        municipalities.setdefault(mun.cve_ent, []).append(mun.cve_mun)
        populations[key] = mun.population
        total = sum(loc.population or 0 for loc in locs)
        localities[key] = tuple((loc.cve_loc, str(loc.ambito)) for loc in locs)
        loc_weights[key] = tuple(c / total for c in accumulate(loc.population or 0 for loc in locs))
    states = tuple(sorted(municipalities))
    state_pop = [sum(populations[(e, m)] for m in municipalities[e]) for e in states]
    return GeoPools(
        states=states,
        state_weights=tuple(accumulate(state_pop)),
        municipalities={e: tuple(ms) for e, ms in municipalities.items()},
        mun_weights={
            e: tuple(accumulate(populations[(e, m)] for m in ms))
            for e, ms in municipalities.items()
        },
        mun_population=populations,
        localities=localities,
        loc_weights=loc_weights,
        known_municipalities=frozenset(known),
    )
