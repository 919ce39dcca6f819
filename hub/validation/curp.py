"""The CURP: structure, check digit, decoding, construction and consistency with a record.

The check digit misses some errors (two swapped letters can keep it), so a CURP is also compared
with the record's own names, birth date, sex and birth state (``check_consistency``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from operator import mul
from typing import Final

from hub.validation.curp_rules import (
    CHECK_VALUES,
    CVE_ENT_TO_RENAPO,
    INCONVENIENT_WORDS,
    RENAPO_STATES,
    RENAPO_TO_CVE_ENT,
    SEX_CODES,
)
from hub.validation.curp_stem import (
    curp_stem,
    name_letters,
    raw_name_letters,
    replace_inconvenient,
)
from hub.validation.issues import ValidationIssue, make_issue

__all__ = [
    "CurpParts",
    "birth_state_renapo",
    "build_curp",
    "check_consistency",
    "check_curp",
    "check_digit",
    "curp_stem",
    "decode_curp",
    "normalize_curp",
    "validate_curp",
]

_STRUCTURE_RE: Final = re.compile(r"[A-Z]{4}[0-9]{6}[A-Z]{6}[A-Z0-9][0-9]")
_WEIGHTS: Final = tuple(range(18, 1, -1))  # 18 for the first character .. 2 for the 17th
_CHECK_VALUE_OF = CHECK_VALUES.__getitem__
#: The check digit for each remainder of the weighted sum: (10 - remainder) mod 10.
_CHECK_CHARS: Final = tuple(str((10 - r) % 10) for r in range(10))
_SEPARATORS_RE: Final = re.compile(r"[\s\-_.]+")
#: Which record field each name position of the CURP comes from (0-based positions).
_NAME_POSITIONS: Final = (
    (0, "primer_apellido"),
    (1, "primer_apellido"),
    (2, "segundo_apellido"),
    (3, "nombre"),
    (13, "primer_apellido"),
    (14, "segundo_apellido"),
    (15, "nombre"),
)
_INDEX_OF: Final = {position: n for n, (position, _) in enumerate(_NAME_POSITIONS)}
#: ``birth_state_renapo`` answers by text: every row of a padrón asks with one of a few texts.
_RENAPO_OF: dict[str, str | None] = {}
_RENAPO_MEMO_LIMIT: Final = 10_000


@dataclass(frozen=True, slots=True)
class CurpParts:
    """What a CURP says about its holder."""

    curp: str
    birth_date: date
    sex: str  # H, M or X
    state: str  # RENAPO code (NE = born abroad)

    @property
    def cve_ent(self) -> str:
        """INEGI CVE_ENT of the birth state (``99`` for born abroad)."""
        return RENAPO_TO_CVE_ENT[self.state]


def normalize_curp(value: str) -> str:
    """Upper case, without spaces, dashes, dots or underscores (what readers do before checking)."""
    return _SEPARATORS_RE.sub("", value).upper()


def check_digit(first17: str) -> str:
    """The 18th character of the CURP whose first 17 characters are given."""
    if len(first17) != 17:
        raise ValueError(f"se necesitan los primeros 17 caracteres, no {len(first17)}")
    try:
        total: int = sum(map(mul, map(_CHECK_VALUE_OF, first17), _WEIGHTS))
    except KeyError as exc:
        raise ValueError(f"carácter no válido en una CURP: {exc.args[0]!r}") from exc
    return _CHECK_CHARS[total % 10]


def _birth_date(curp: str) -> date | None:
    # Position 17 distinguishes the century: a digit for births up to 1999, a letter from 2000.
    century = 1900 if curp[16] <= "9" else 2000
    try:
        return date(century + int(curp[4:6]), int(curp[6:8]), int(curp[8:10]))
    except ValueError:
        return None


def validate_curp(curp: str, *, today: date | None = None) -> list[ValidationIssue]:
    """Issues of a CURP on its own (an empty list when it is valid).

    ``curp`` must already be normalized (``normalize_curp``). Checked: length, structure, the
    inconvenient-words rule, birth date (exists, not in the future), sex H/M/X, RENAPO state code
    (including NE) and the check digit.
    """
    return _validate(curp, today or date.today())[0]


def _validate(curp: str, today: date) -> tuple[list[ValidationIssue], date | None]:
    """The issues of a CURP and the birth date it encodes (None when unreadable)."""
    if len(curp) != 18:
        return [make_issue("curp", "CURP_LENGTH", f"'{curp}' tiene {len(curp)}")], None
    if _STRUCTURE_RE.fullmatch(curp) is None:
        return [make_issue("curp", "CURP_STRUCTURE", f"'{curp}'")], None
    issues: list[ValidationIssue] = []
    if curp[:4] in INCONVENIENT_WORDS:
        issues.append(make_issue("curp", "CURP_INCONVENIENT_WORD", f"'{curp[:4]}'"))
    born = _birth_date(curp)
    if born is None:
        issues.append(make_issue("curp", "CURP_DATE", f"'{curp[4:10]}'"))
    elif born > today:
        issues.append(make_issue("curp", "CURP_FUTURE_DATE", born.isoformat()))
    if curp[10] not in SEX_CODES:
        issues.append(make_issue("curp", "CURP_SEX", f"'{curp[10]}'"))
    if curp[11:13] not in RENAPO_STATES:
        issues.append(make_issue("curp", "CURP_STATE", f"'{curp[11:13]}'"))
    # The pattern above guarantees every character has a check value.
    total: int = sum(map(mul, map(_CHECK_VALUE_OF, curp[:17]), _WEIGHTS))
    expected = _CHECK_CHARS[total % 10]
    if curp[17] != expected:
        issues.append(
            make_issue("curp", "CURP_CHECK_DIGIT", f"es '{curp[17]}' y debería ser '{expected}'")
        )
    return issues, born


def decode_curp(curp: str) -> CurpParts:
    """Birth date (century from position 17), sex and birth state of a well-formed CURP.

    Raises ValueError when the structure, date, sex or state cannot be read. The check digit is
    not verified here; use ``validate_curp`` for that.
    """
    if len(curp) != 18 or _STRUCTURE_RE.fullmatch(curp) is None:
        raise ValueError(f"CURP mal formada: {curp!r}")
    born = _birth_date(curp)
    if born is None:
        raise ValueError(f"la CURP {curp} contiene una fecha inexistente: {curp[4:10]}")
    if curp[10] not in SEX_CODES:
        raise ValueError(f"la CURP {curp} tiene un sexo no válido: {curp[10]!r}")
    if curp[11:13] not in RENAPO_STATES:
        raise ValueError(f"la CURP {curp} tiene una entidad no válida: {curp[11:13]!r}")
    return CurpParts(curp, born, curp[10], curp[11:13])


def build_curp(stem16: str, homoclave: str) -> str:
    """A full CURP: the 16-character stem, RENAPO's differentiator and the computed check digit.

    The differentiator (``homoclave``, position 17) is a digit for people born up to 1999 and a
    letter for people born from 2000; it is what tells the century of the birth date.
    """
    if len(stem16) != 16:
        raise ValueError(f"el prefijo de la CURP debe tener 16 caracteres, no {len(stem16)}")
    if len(homoclave) != 1 or not (homoclave.isascii() and homoclave.isalnum()):
        raise ValueError(f"la homoclave debe ser una letra o un dígito, no {homoclave!r}")
    first17 = stem16 + homoclave.upper()
    return first17 + check_digit(first17)


def birth_state_renapo(entidad: str) -> str | None:
    """RENAPO code of a birth state given as RENAPO code or INEGI CVE_ENT; None if unknown."""
    try:
        return _RENAPO_OF[entidad]
    except KeyError:
        pass
    except TypeError:  # not text: fails below as it always did
        return _birth_state_renapo(entidad)
    found = _birth_state_renapo(entidad)
    if len(_RENAPO_OF) < _RENAPO_MEMO_LIMIT:
        _RENAPO_OF[entidad] = found
    return found


def _birth_state_renapo(entidad: str) -> str | None:
    value = entidad.strip().upper()
    if value in RENAPO_STATES:
        return value
    if value.isdigit() and len(value) <= 2:
        return CVE_ENT_TO_RENAPO.get(value.zfill(2))
    return None


def check_consistency(
    curp: str,
    *,
    primer_apellido: str | None,
    segundo_apellido: str | None,
    nombre: str | None,
    fecha_nacimiento: date | None,
    sexo: str | None,
    entidad_nacimiento: str | None,
) -> list[ValidationIssue]:
    """Which parts of a well-formed CURP disagree with the record's own data.

    Each disagreeing part gives one issue on the record field concerned: CURP_NAME_MISMATCH on
    ``primer_apellido``, ``segundo_apellido`` or ``nombre``, CURP_DATE_MISMATCH on
    ``fecha_nacimiento``, CURP_SEX_MISMATCH on ``sexo``, CURP_STATE_MISMATCH on
    ``entidad_nacimiento``. A value that is None (unknown) is not compared; an empty second surname
    is "none", which the CURP writes as X. An N in the record where the CURP has X is tolerated
    (an Ñ lost to an encoding: PENA for PEÑA). A CURP that cannot be decoded gives no issues here
    (``validate_curp`` reports it).
    """
    try:
        parts = decode_curp(curp)
    except ValueError:
        return []
    return _compare(
        curp,
        parts.birth_date,
        primer_apellido,
        segundo_apellido,
        nombre,
        fecha_nacimiento,
        sexo,
        entidad_nacimiento,
    )


def check_curp(
    curp: str,
    *,
    today: date | None = None,
    primer_apellido: str | None,
    segundo_apellido: str | None,
    nombre: str | None,
    fecha_nacimiento: date | None,
    sexo: str | None,
    entidad_nacimiento: str | None,
) -> list[ValidationIssue]:
    """``validate_curp`` and, when the CURP is valid, ``check_consistency``, in one pass."""
    issues, born = _validate(curp, today or date.today())
    if issues or born is None:
        return issues
    return _compare(
        curp, born, primer_apellido, segundo_apellido, nombre, fecha_nacimiento, sexo,
        entidad_nacimiento,
    )  # fmt: skip


def _compare(
    curp: str,
    born: date,
    primer_apellido: str | None,
    segundo_apellido: str | None,
    nombre: str | None,
    fecha_nacimiento: date | None,
    sexo: str | None,
    entidad_nacimiento: str | None,
) -> list[ValidationIssue]:
    issues: list[ValidationIssue] = []
    if primer_apellido is not None or segundo_apellido is not None or nombre is not None:
        issues.extend(_name_mismatches(curp, primer_apellido, segundo_apellido, nombre))
    if isinstance(fecha_nacimiento, date) and fecha_nacimiento != born:
        detail = f"CURP {born.isoformat()}, registro {fecha_nacimiento.isoformat()}"
        issues.append(make_issue("fecha_nacimiento", "CURP_DATE_MISMATCH", detail))
    if sexo is not None and sexo != curp[10] and sexo.strip().upper() != curp[10]:
        detail = f"CURP {curp[10]}, registro {sexo}"
        issues.append(make_issue("sexo", "CURP_SEX_MISMATCH", detail))
    if entidad_nacimiento is not None and entidad_nacimiento != curp[11:13]:
        code = birth_state_renapo(entidad_nacimiento)
        if code is not None and code != curp[11:13]:
            detail = f"CURP {curp[11:13]}, registro {entidad_nacimiento} ({code})"
            issues.append(make_issue("entidad_nacimiento", "CURP_STATE_MISMATCH", detail))
    return issues


def _name_mismatches(
    curp: str, primer: str | None, segundo: str | None, nombre: str | None
) -> list[ValidationIssue]:
    if primer is not None and segundo is not None and nombre is not None:
        word, consonants = name_letters(primer, segundo, nombre)
        if curp.startswith(word) and curp[13:16] == consonants:
            return []  # the common case, without building the per-position comparison
    known = {
        "primer_apellido": primer is not None,
        "segundo_apellido": segundo is not None,
        "nombre": nombre is not None,
    }
    raw_word, consonants = raw_name_letters(primer, segundo, nombre)
    raw = raw_word + curp[4:13] + consonants
    # Unknown parts are taken from the CURP itself, so they always agree; the inconvenient-word
    # replacement is applied to the mixed letters, as RENAPO applies it to the whole word.
    mixed = "".join(raw[i] if known[f] else curp[i] for i, f in _NAME_POSITIONS)
    expected = replace_inconvenient(mixed[:4]) + mixed[4:]
    wrong: dict[str, list[int]] = {}
    for (i, field), letter in zip(_NAME_POSITIONS, expected, strict=True):
        # An N where the CURP has X is an Ñ lost to an encoding (PENA for PEÑA): tolerated.
        if letter != curp[i] and not (letter == "N" and curp[i] == "X"):
            wrong.setdefault(field, []).append(i)
    return [
        make_issue(
            field,
            "CURP_NAME_MISMATCH",
            f"{'posición' if len(positions) == 1 else 'posiciones'} "
            f"{', '.join(str(p + 1) for p in positions)} de la CURP "
            f"('{''.join(curp[p] for p in positions)}', "
            f"se esperaba '{''.join(expected[_INDEX_OF[p]] for p in positions)}')",
        )
        for field, positions in wrong.items()
    ]
