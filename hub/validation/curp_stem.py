"""RENAPO's rules for the first 16 characters of a CURP, derived from the person's own data.

Positions: 1 first letter and 2 first internal vowel of the first surname, 3 first letter of the
second surname (X without one), 4 first letter of the given name, 5-10 birth date YYMMDD, 11 sex,
12-13 birth state, 14-16 first internal consonant of the first surname, the second surname and the
given name. Particles of compound names (DE, LA, DEL, VAN...) are skipped; a compound given name
starting with MARIA or JOSE (MA., J.) uses its second word; Ñ and special characters become X;
when positions 1-4 form an inconvenient word, the second letter becomes X.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Final

from hub.validation.curp_rules import (
    COMPOUND_GIVEN_NAME_PREFIXES,
    INCONVENIENT_WORDS,
    NAME_PARTICLES,
    RENAPO_STATES,
    SEX_CODES,
)
from hub.validation.names import normalize_name

__all__ = ["curp_stem", "name_letters", "raw_name_letters", "replace_inconvenient"]

_LETTERS: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_VOWELS: Final = frozenset("AEIOU")
_CONSONANTS: Final = _LETTERS - _VOWELS


def _words(normalized: str) -> list[str]:
    words = normalized.replace("-", " ").split()
    meaningful = [w for w in words if w not in NAME_PARTICLES]
    return meaningful or words


def _first_letter(word: str) -> str:
    return word[0] if word[0] in _LETTERS else "X"


def _internal_vowel(word: str) -> str:
    for c in word[1:]:
        if c in _VOWELS:
            return c
    return "X"


def _internal_consonant(word: str) -> str:
    for c in word[1:]:
        if c in _CONSONANTS:
            return c
        if c == "Ñ":
            return "X"
    return "X"


@lru_cache(maxsize=1 << 16)
def _surname_letters(value: str | None) -> tuple[str, str, str]:
    """(first letter, first internal vowel, first internal consonant) of a surname."""
    words = _words(normalize_name(value, expand=False)) if value else []
    if not words:
        return ("X", "X", "X")
    word = words[0]
    return (_first_letter(word), _internal_vowel(word), _internal_consonant(word))


@lru_cache(maxsize=1 << 16)
def _given_name_letters(value: str | None) -> tuple[str, str]:
    """(first letter, first internal consonant) of the word of the given name the CURP uses."""
    words = _words(normalize_name(value)) if value else []
    if not words:
        return ("X", "X")
    if len(words) > 1 and words[0] in COMPOUND_GIVEN_NAME_PREFIXES:
        words = words[1:]
    word = words[0]
    return (_first_letter(word), _internal_consonant(word))


def raw_name_letters(
    primer_apellido: str | None, segundo_apellido: str | None, nombre: str | None
) -> tuple[str, str]:
    """Positions 1-4 *before* the inconvenient-word replacement, and positions 14-16."""
    first = _surname_letters(primer_apellido)
    second = _surname_letters(segundo_apellido)
    given = _given_name_letters(nombre)
    return first[0] + first[1] + second[0] + given[0], first[2] + second[2] + given[1]


def replace_inconvenient(word: str) -> str:
    """RENAPO's rule: an inconvenient four-letter word gets X as its second letter."""
    return word[0] + "X" + word[2:] if word in INCONVENIENT_WORDS else word


def name_letters(
    primer_apellido: str | None, segundo_apellido: str | None, nombre: str | None
) -> tuple[str, str]:
    """Positions 1-4 (inconvenient words already replaced) and 14-16 of a person's CURP."""
    word, consonants = raw_name_letters(primer_apellido, segundo_apellido, nombre)
    return replace_inconvenient(word), consonants


def curp_stem(
    primer_apellido: str,
    segundo_apellido: str | None,
    nombre: str,
    fecha_nacimiento: date,
    sexo: str,
    entidad_renapo: str,
) -> str:
    """The first 16 characters of the CURP RENAPO would assign to this person.

    ``segundo_apellido`` is None or empty for people with one surname. ``sexo`` is H, M or X;
    ``entidad_renapo`` the two-letter RENAPO state code (``NE`` for born abroad).
    Raises ValueError on a bad sex or state code.
    """
    if sexo not in SEX_CODES:
        raise ValueError(f"sexo debe ser H, M o X, no {sexo!r}")
    if entidad_renapo not in RENAPO_STATES:
        raise ValueError(f"entidad de RENAPO desconocida: {entidad_renapo!r}")
    word, consonants = name_letters(primer_apellido, segundo_apellido, nombre)
    d = fecha_nacimiento
    return f"{word}{d.year % 100:02d}{d.month:02d}{d.day:02d}{sexo}{entidad_renapo}{consonants}"
