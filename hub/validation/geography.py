"""INEGI geography: the state, municipality and locality catalogs, and key normalization.

Keys come from agencies padded (``09``, ``002``, ``0001``), unpadded (``9``, ``2``, ``1``: a
spreadsheet dropped the zeros) or concatenated (CVEGEO: 5 digits for a municipality, 9 for a
locality, also in ``cve_mun``/``cve_loc``). The locality catalog is partial (about 50k of INEGI's
~300k localities), so an unknown locality in a known municipality is only a warning.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final, Literal

from hub.errors import ReferenceDataError
from hub.validation.curp_rules import CVE_ENT_TO_RENAPO
from hub.validation.geography_files import (
    LocalityRow,
    iter_localities,
    read_municipalities,
    read_states,
)
from hub.validation.issues import ValidationIssue, make_issue

__all__ = [
    "REFERENCE_DATA_HINT",
    "Ambito",
    "GeoCatalog",
    "GeoKey",
    "Locality",
    "Municipality",
    "State",
]

Ambito = Literal["URBANO", "RURAL"]

#: What an operator must do when the reference data cannot be read.
REFERENCE_DATA_HINT: Final = (
    "defina SISI_REFERENCE_DATA con el directorio que contiene inegi/estados.csv, "
    "inegi/municipios.csv e inegi/localidades_nacional.csv; los catálogos oficiales (AGEEML) "
    "se descargan de INEGI en https://www.inegi.org.mx/app/ageeml/"
)
#: Memoized answers (a raw and a padded form per place: ~280 bytes each, so at most ~28 MB).
_MEMO_LIMIT: Final = 100_000
_ABROAD: Final = "99"
_AMBITOS: Final[tuple[Ambito | None, ...]] = (None, "URBANO", "RURAL")
_AMBITO_CODES: Final[dict[Ambito | None, int]] = {kind: i for i, kind in enumerate(_AMBITOS)}


@dataclass(frozen=True, slots=True)
class GeoKey:
    """A place down to the municipality, and the locality when known (all keys zero-padded)."""

    cve_ent: str
    cve_mun: str
    cve_loc: str | None = None

    @property
    def cvegeo(self) -> str:
        """The concatenated key: 9 digits with the locality, 5 without."""
        return self.cve_ent + self.cve_mun + (self.cve_loc or "")

    @property
    def cvegeo_mun(self) -> str:
        """The municipality's 5-digit key."""
        return self.cve_ent + self.cve_mun


@dataclass(frozen=True, slots=True)
class State:
    """A state (entidad federativa); ``99`` is "nacido en el extranjero"."""

    cve_ent: str
    name: str
    renapo: str
    population: int | None


@dataclass(frozen=True, slots=True)
class Municipality:
    """A municipality (or CDMX alcaldía), with its 2020 census population."""

    cve_ent: str
    cve_mun: str
    name: str
    population: int

    @property
    def cvegeo(self) -> str:
        return self.cve_ent + self.cve_mun


@dataclass(frozen=True, slots=True)
class Locality:
    """A locality, urban or rural, with its 2020 census population when published."""

    cve_ent: str
    cve_mun: str
    cve_loc: str
    name: str
    ambito: Ambito | None
    population: int | None

    @property
    def cvegeo(self) -> str:
        return self.cve_ent + self.cve_mun + self.cve_loc


class GeoCatalog:
    """The INEGI catalogs in memory, with normalization of the keys agencies send."""

    def __init__(
        self,
        states: Iterable[State],
        municipalities: Iterable[Municipality],
        localities: Iterable[Locality] = (),
        *,
        source: Path | None = None,
    ) -> None:
        self.source = source
        self._states = {s.cve_ent: s for s in states}
        self._renapo = {s.renapo: s.cve_ent for s in self._states.values()}
        self._municipalities = {m.cvegeo: m for m in municipalities}
        self._localities = _LocalityTable(
            (loc.cve_ent, loc.cve_mun, loc.cve_loc, loc.name, loc.ambito, loc.population)
            for loc in localities
        )
        self._memo: dict[tuple[object, object, object, object], _Normalized] = {}
        #: One string object per key part (a few thousand), shared by every memoized key.
        self._parts: dict[str, str] = {}

    @classmethod
    def _from_rows(
        cls,
        states: Iterable[State],
        municipalities: Iterable[Municipality],
        localities: Iterable[LocalityRow],
        *,
        source: Path,
    ) -> GeoCatalog:
        catalog = cls(states, municipalities, source=source)
        catalog._localities = _LocalityTable(localities)
        return catalog

    @classmethod
    def load(cls, path: Path | None = None) -> GeoCatalog:
        """The catalogs under ``path`` (default: the settings' reference data), read once.

        Raises ``ReferenceDataError`` naming the file when a catalog is missing or malformed.
        """
        if path is None:
            from hub.settings import get_settings

            path = get_settings().reference_data
            if path is None:
                raise ReferenceDataError(
                    "no se encontró el directorio de datos de referencia de INEGI",
                    hint=REFERENCE_DATA_HINT,
                )
        return _load(Path(path).resolve())

    # --- lookups -------------------------------------------------------------------------------

    def states(self) -> tuple[State, ...]:
        """Every state, including ``99`` (born abroad) when the catalog has it."""
        return tuple(self._states.values())

    def state(self, cve_ent: str) -> State | None:
        return self._states.get(cve_ent)

    def state_for_renapo(self, code: str) -> str | None:
        """INEGI CVE_ENT of a RENAPO state code (``DF`` -> ``09``, ``NE`` -> ``99``)."""
        return self._renapo.get(code)

    def renapo_for_state(self, cve_ent: str) -> str | None:
        """RENAPO code of an INEGI CVE_ENT (``09`` -> ``DF``); unpadded keys are accepted."""
        state = self._states.get(cve_ent.zfill(2))
        return state.renapo if state else None

    def municipalities(self) -> tuple[Municipality, ...]:
        """Every municipality, with population (for the synthetic data generator)."""
        return tuple(self._municipalities.values())

    def municipality(self, cve_ent: str, cve_mun: str) -> Municipality | None:
        return self._municipalities.get(cve_ent + cve_mun)

    def localities_of(self, cve_ent: str, cve_mun: str) -> tuple[Locality, ...]:
        """The catalog's localities of one municipality (possibly not all of INEGI's)."""
        return self._localities.of_municipality(cve_ent + cve_mun)

    def locality(self, cvegeo9: str) -> Locality | None:
        return self._localities.get(cvegeo9)

    def ambito(self, cvegeo9: str) -> Ambito | None:
        """URBANO or RURAL for a known locality; None when unknown or unclassified."""
        loc = self._localities.get(cvegeo9)
        return loc.ambito if loc else None

    # --- normalization -------------------------------------------------------------------------

    def normalize_geography(
        self,
        cve_ent: object = None,
        cve_mun: object = None,
        cve_loc: object = None,
        cvegeo: object = None,
    ) -> tuple[GeoKey | None, list[ValidationIssue]]:
        """The padded key of a place given in any of the forms agencies use, and its issues.

        Returns ``(None, [])`` when no geography is given at all. A key that cannot be read, keys
        that contradict each other, an unknown state or municipality give ``None`` and errors; an
        unknown locality in a known municipality gives the key and a warning.
        """
        key, issues = self.normalized_geography(cve_ent, cve_mun, cve_loc, cvegeo)
        return key, list(issues)

    def normalized_geography(
        self,
        cve_ent: object = None,
        cve_mun: object = None,
        cve_loc: object = None,
        cvegeo: object = None,
    ) -> tuple[GeoKey | None, tuple[ValidationIssue, ...]]:
        """``normalize_geography`` with the issues as a shared tuple (no copy per call)."""
        raw_key = (cve_ent, cve_mun, cve_loc, cvegeo)
        try:
            found = self._memo.get(raw_key)
        except TypeError:  # an unhashable value: normalize it without the memo
            key, issues = self._normalize(*map(_text, raw_key))
            return key, tuple(issues)
        if found is None:
            key, issues = self._normalize(*map(_text, raw_key))
            found = (key, tuple(issues))
            memo = self._memo
            if len(memo) >= _MEMO_LIMIT - 1:
                memo.clear()
            memo[raw_key] = found
            if key is not None:
                # The padded keys (what a mapped record carries, validated next) have the same
                # answer: a key found has at most the locality warning, which depends on the
                # key alone. Sharing the answer saves a second normalization and its memory.
                memo.setdefault((key.cve_ent, key.cve_mun, key.cve_loc, None), found)
        return found

    def _normalize(
        self, ent_in: str, mun_in: str, loc_in: str, geo_in: str
    ) -> tuple[GeoKey | None, list[ValidationIssue]]:
        issues: list[ValidationIssue] = []
        # Each source proposes (cve_ent, cve_mun, cve_loc) parts; they must agree.
        proposals: list[tuple[str, tuple[str | None, str | None, str | None]]] = []
        for field, text, split in (
            ("cvegeo", geo_in, _split_cvegeo),
            ("cve_ent", ent_in, _split_ent),
            ("cve_mun", mun_in, _split_mun),
            ("cve_loc", loc_in, _split_loc),
        ):
            if not text:
                continue
            parts = split(text) if text.isascii() and text.isdigit() else None
            if parts is None:
                issues.append(make_issue(field, "GEO_FORMAT", f"'{text}'"))
            else:
                proposals.append((field, parts))
        if not proposals and not issues:
            return None, []
        merged: list[str | None] = [None, None, None]
        for field, parts in proposals:
            for i, part in enumerate(parts):
                if part is None:
                    continue
                if merged[i] is not None and merged[i] != part:
                    issues.append(
                        make_issue(field, "GEO_INCONSISTENT", f"'{part}' contra '{merged[i]}'")
                    )
                else:
                    merged[i] = part
        if issues:
            return None, issues
        ent, mun, loc = merged
        if ent is None:
            return None, [make_issue("cve_ent", "REQUIRED", "falta la clave de entidad")]
        if ent not in self._states or ent == _ABROAD:
            return None, [make_issue("cve_ent", "GEO_UNKNOWN_STATE", f"'{ent}'")]
        if mun is None:
            return None, [make_issue("cve_mun", "REQUIRED", "falta la clave de municipio")]
        if ent + mun not in self._municipalities:
            return None, [make_issue("cve_mun", "GEO_UNKNOWN_MUNICIPALITY", f"'{ent}{mun}'")]
        shared = self._parts
        key = GeoKey(
            shared.setdefault(ent, ent),
            shared.setdefault(mun, mun),
            None if loc is None else shared.setdefault(loc, loc),
        )
        if loc is not None and not self._localities.has(key.cvegeo):
            issues.append(make_issue("cve_loc", "GEO_LOCALITY_NOT_IN_CATALOG", f"'{key.cvegeo}'"))
        return key, issues


class _LocalityTable:
    """The locality catalog in a few flat arrays, sorted by CVEGEO; ``Locality`` made on demand.

    Every process that validates holds the catalog (tens of thousands of localities): as one
    frozen dataclass and two dict entries each it took about 23 MB per process (and a 60 MB
    peak while read); as arrays of integer keys, populations and kinds, plus the names in one
    UTF-8 buffer, it takes about 2 MB.
    A key repeated in the source answers ``get`` with its last row (as a dict by key did) and
    keeps every row in ``of_municipality``, in source order.
    """

    __slots__ = ("_ambito", "_keys", "_name_ends", "_names", "_population", "_source_order")

    def __init__(self, rows: Iterable[LocalityRow]) -> None:
        keys = array("q")
        population = array("q")
        ambito = bytearray()
        names = bytearray()
        name_ends = array("q")
        ordered = True
        for ent, mun, loc, name, kind, people in rows:
            key = int(ent + mun + loc)
            if keys and key < keys[-1]:
                ordered = False
            keys.append(key)
            population.append(-1 if people is None else people)
            ambito.append(_AMBITO_CODES[kind])
            names += name.encode("utf-8")
            name_ends.append(len(names))
        self._keys = keys
        self._population = population
        self._ambito = bytes(ambito)
        self._names = bytes(names)
        self._name_ends = name_ends
        #: Source position of each row, kept only when the source was not sorted by key.
        self._source_order: array[int] | None = None
        if not ordered:
            self._sort()

    def _sort(self) -> None:
        order = sorted(range(len(self._keys)), key=self._keys.__getitem__)  # stable
        names = bytearray()
        name_ends = array("q")
        for i in order:
            names += self._name(i).encode("utf-8")
            name_ends.append(len(names))
        self._keys = array("q", (self._keys[i] for i in order))
        self._population = array("q", (self._population[i] for i in order))
        self._ambito = bytes(self._ambito[i] for i in order)
        self._names, self._name_ends = bytes(names), name_ends
        self._source_order = array("q", order)

    def _name(self, i: int) -> str:
        start = self._name_ends[i - 1] if i else 0
        return self._names[start : self._name_ends[i]].decode("utf-8")

    def _row(self, i: int) -> Locality:
        text = f"{self._keys[i]:09d}"
        people = self._population[i]
        return Locality(
            text[:2],
            text[2:5],
            text[5:],
            self._name(i),
            _AMBITOS[self._ambito[i]],
            None if people < 0 else people,
        )

    def _last(self, cvegeo9: str) -> int | None:
        """Index of the last row with this 9-digit key, None when absent or not a key."""
        if len(cvegeo9) != 9 or not (cvegeo9.isascii() and cvegeo9.isdigit()):
            return None
        key = int(cvegeo9)
        i = bisect_right(self._keys, key) - 1
        return i if i >= 0 and self._keys[i] == key else None

    def has(self, cvegeo9: str) -> bool:
        return self._last(cvegeo9) is not None

    def get(self, cvegeo9: str) -> Locality | None:
        i = self._last(cvegeo9)
        return None if i is None else self._row(i)

    def of_municipality(self, cvegeo5: str) -> tuple[Locality, ...]:
        if len(cvegeo5) != 5 or not (cvegeo5.isascii() and cvegeo5.isdigit()):
            return ()
        first = int(cvegeo5) * 10_000
        start = bisect_left(self._keys, first)
        end = bisect_left(self._keys, first + 10_000, start)
        rows: Iterable[int] = range(start, end)
        if self._source_order is not None:
            rows = sorted(rows, key=self._source_order.__getitem__)
        return tuple(self._row(i) for i in rows)


def _text(value: object) -> str:
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else str(value)


_Parts = tuple[str | None, str | None, str | None]
_Normalized = tuple[GeoKey | None, tuple[ValidationIssue, ...]]


def _split_cvegeo(digits: str) -> _Parts | None:
    n = len(digits)
    if n <= 2:
        return digits.zfill(2), None, None
    if n <= 5 and n >= 4:
        padded = digits.zfill(5)
        return padded[:2], padded[2:], None
    if n in (8, 9):
        padded = digits.zfill(9)
        return padded[:2], padded[2:5], padded[5:]
    return None


def _split_ent(digits: str) -> _Parts | None:
    return (digits.zfill(2), None, None) if len(digits) <= 2 else None


def _split_mun(digits: str) -> _Parts | None:
    if len(digits) <= 3:
        return None, digits.zfill(3), None
    return _split_cvegeo(digits) if len(digits) <= 5 else None


def _split_loc(digits: str) -> _Parts | None:
    if len(digits) <= 4:
        return None, None, digits.zfill(4)
    return _split_cvegeo(digits) if len(digits) >= 8 else None


@lru_cache(maxsize=8)
def _load(directory: Path) -> GeoCatalog:
    if not directory.is_dir():
        raise ReferenceDataError(
            "el directorio de datos de referencia no existe",
            path=directory,
            hint=REFERENCE_DATA_HINT,
        )
    inegi = directory / "inegi"
    states = read_states(inegi / "estados.csv", CVE_ENT_TO_RENAPO, REFERENCE_DATA_HINT)
    municipalities = read_municipalities(inegi / "municipios.csv", REFERENCE_DATA_HINT)
    # the locality rows go straight into the compact table, never as Locality objects at once
    localities = iter_localities(inegi / "localidades_nacional.csv", REFERENCE_DATA_HINT)
    return GeoCatalog._from_rows(
        (State(*row) for row in states),
        (Municipality(*row) for row in municipalities),
        localities,
        source=directory,
    )
