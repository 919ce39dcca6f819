"""Spelling changes between deliveries and typos in duplicates, as agencies' capture produces them.

``respell`` changes a name only in ways that keep the CURP letters the same (checked with the
validation's own ``name_letters``), so a record with a CURP stays consistent; ``typo`` may change
anything and is for copies without CURP.
"""

from __future__ import annotations

from random import Random
from typing import Final

from hub.validation.curp_stem import name_letters
from producers.synth.names import spelling_variants

__all__ = ["respell", "typo"]

#: Letters that capture clerks swap for one another.
_SWAPS: Final = {"S": "Z", "Z": "S", "V": "B", "B": "V", "Y": "I", "I": "Y", "C": "S", "J": "G"}


def typo(name: str, rng: Random) -> str:
    """``name`` with one capture error: a swapped, doubled or dropped letter."""
    positions = [i for i, c in enumerate(name) if c.isalpha()]
    if len(positions) < 3:
        return name
    i = positions[1 + int(rng.random() * (len(positions) - 1))]
    c = name[i]
    kind = rng.random()
    if c in _SWAPS and kind < 0.5:
        return name[:i] + _SWAPS[c] + name[i + 1 :]
    if kind < 0.75:
        return name[:i] + c + name[i:]
    return name[:i] + name[i + 1 :]


def respell(current: str, names: dict[str, str | None], rng: Random, *, field: str) -> str:
    """Another spelling of ``current`` (``nombre`` or ``primer_apellido``) with the same CURP.

    ``names`` holds the person's ``primer_apellido``, ``segundo_apellido`` and ``nombre`` as the
    CURP was built from them.
    """
    names = dict(names)
    target = name_letters(names["primer_apellido"], names["segundo_apellido"], names["nombre"])
    candidates = list(spelling_variants(current)) if field == "nombre" else []
    candidates += [typo(current, rng) for _ in range(6)]
    for candidate in candidates:
        if candidate == current or not candidate.strip():
            continue
        trial = dict(names)
        trial[field] = candidate
        letters = name_letters(trial["primer_apellido"], trial["segundo_apellido"], trial["nombre"])
        if letters == target:
            return candidate
    return current
