"""Person names: normalization (upper case, no accents but Ñ, abbreviations expanded) and checks."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Final

from hub.validation.curp_rules import NAME_PARTICLES
from hub.validation.issues import ValidationIssue, make_issue

__all__ = ["GIVEN_NAME_ABBREVIATIONS", "MAX_NAME_LENGTH", "normalize_name", "validate_name"]

#: Abbreviations of given names that agencies write, and what they stand for.
GIVEN_NAME_ABBREVIATIONS: Final = {
    "MA": "MARIA",
    "MA.": "MARIA",
    "GPE": "GUADALUPE",
    "GPE.": "GUADALUPE",
    "J.": "JOSE",
    "FCO": "FRANCISCO",
    "FCO.": "FRANCISCO",
}

#: Longest name or surname accepted (the PUB layout allows 50; some agencies use more).
MAX_NAME_LENGTH: Final = 100

_ENYE_PLACEHOLDER = "\x00"
# A dot glued to the next word ("MA.GUADALUPE") is split so the abbreviation is seen alone.
_GLUED_DOT_RE = re.compile(r"\.(?=[^\s.])")
# After normalization: letters, with single spaces, hyphens or apostrophes between them.
_VALID_NAME_RE = re.compile(r"[A-ZÑ]+(?:(?: |-|'| ?- ?|' ?)[A-ZÑ]+)*")


@lru_cache(maxsize=1 << 16)
def _normalize(value: str, expand: bool) -> str:
    text = unicodedata.normalize("NFC", value).upper()
    if not text.isascii():
        # Strip accents (Á -> A, Ü -> U) but keep Ñ, which is a letter of its own in Spanish.
        text = text.replace("Ñ", _ENYE_PLACEHOLDER)
        text = "".join(
            c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)
        )
        text = text.replace(_ENYE_PLACEHOLDER, "Ñ")
    if "." in text:
        text = _GLUED_DOT_RE.sub(". ", text)
    words = text.split()
    if expand:
        words = [GIVEN_NAME_ABBREVIATIONS.get(word, word) for word in words]
    if "." in text:
        words = [w for w in (word.replace(".", "") for word in words) if w]
    return " ".join(words)


def normalize_name(value: str, *, expand: bool = True) -> str:
    """Upper case, accents stripped (Ñ kept), spaces collapsed, dots dropped.

    With ``expand`` (the default, meant for given names) the usual abbreviations are written out:
    ``MA.``/``MA`` -> ``MARIA``, ``GPE`` -> ``GUADALUPE``, ``J.`` -> ``JOSE``, ``FCO`` ->
    ``FRANCISCO``; so ``"Ma. de la Luz"`` -> ``"MARIA DE LA LUZ"``. Pass ``expand=False`` for
    surnames, where ``MA`` is a real surname.
    """
    return _normalize(value, expand)


@lru_cache(maxsize=1 << 16)
def _name_problem(value: str) -> str | None:
    """Why ``value`` is not an acceptable name, or None when it is."""
    normalized = _normalize(value, False)
    if not normalized:
        return "está vacío"
    if len(normalized) > MAX_NAME_LENGTH:
        return f"tiene {len(normalized)} caracteres; el máximo es {MAX_NAME_LENGTH}"
    if _VALID_NAME_RE.fullmatch(normalized) is None:
        bad = sorted({c for c in normalized if not (c.isalpha() or c in " -'")})
        if bad:
            return "contiene " + ", ".join(repr(c) for c in bad)
        return f"'{normalized}' no tiene la forma de un nombre"
    if all(word in NAME_PARTICLES for word in normalized.replace("-", " ").split()):
        return f"'{normalized}' solo contiene partículas (DE, LA, DEL...)"
    return None


def validate_name(field: str, value: object) -> list[ValidationIssue]:
    """Issues of one name field: only letters (any accents, Ñ), spaces, hyphens, apostrophes.

    Particles (DE, DEL, LA, LOS...) are part of the name and are kept; a name made only of
    particles is rejected. Dots of abbreviations (``MA.``) are accepted.
    """
    if not isinstance(value, str):
        return [make_issue(field, "NAME_INVALID", f"se esperaba texto, no {type(value).__name__}")]
    problem = _name_problem(value)
    if problem is None:
        return []
    return [make_issue(field, "NAME_INVALID", problem)]
