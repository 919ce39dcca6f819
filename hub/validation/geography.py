"""INEGI geography: the state, municipality and locality catalogs, and key normalization.

Keys come from agencies padded (``09``, ``002``, ``0001``), unpadded (``9``, ``2``, ``1``: a
spreadsheet dropped the zeros) or concatenated (CVEGEO: 5 digits for a municipality, 9 for a
locality, also in ``cve_mun``/``cve_loc``). The locality catalog is partial (about 50k of INEGI's
~300k localities), so an unknown locality in a known municipality is only a warning.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final, Literal

from hub.errors import ReferenceDataError
from hub.validation.curp_rules import CVE_ENT_TO_RENAPO
from hub.validation.geography_files import read_localities, read_municipalities, read_states
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
_MEMO_LIMIT: Final = 200_000
_ABROAD: Final = "99"


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
        self._localities: dict[str, Locality] = {}
        self._by_municipality: dict[str, list[Locality]] = {}
        for loc in localities:
            self._localities[loc.cvegeo] = loc
            self._by_municipality.setdefault(loc.cve_ent + loc.cve_mun, []).append(loc)
        self._memo: dict[tuple[object, object, object, object], _Normalized] = {}

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
        return tuple(self._by_municipality.get(cve_ent + cve_mun, ()))

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
            if len(self._memo) >= _MEMO_LIMIT:
                self._memo.clear()
            self._memo[raw_key] = found
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
        key = GeoKey(ent, mun, loc)
        if loc is not None and key.cvegeo not in self._localities:
            issues.append(make_issue("cve_loc", "GEO_LOCALITY_NOT_IN_CATALOG", f"'{key.cvegeo}'"))
        return key, issues


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
    localities = read_localities(inegi / "localidades_nacional.csv", REFERENCE_DATA_HINT)
    return GeoCatalog(
        (State(*row) for row in states),
        (Municipality(*row) for row in municipalities),
        (Locality(*row) for row in localities),
        source=directory,
    )
