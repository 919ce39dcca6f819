"""Date formats of agency files, written with tokens (``DD/MM/YYYY``, ``D [de] MMMM [de] YYYY``).

A format is compiled once into a regular expression; ``parse`` and ``format`` are then cheap.

Tokens (letters are case-insensitive for parsing)::

    YYYY  four-digit year              YY    two-digit year (see the pivot below)
    MM    two-digit month  (03)        M     month, one or two digits (3, 12)
    DD    two-digit day    (05)        D     day, one or two digits (5, 17)
    MMM   Spanish 3-letter month       ENE FEB MAR ABR MAY JUN JUL AGO SEP OCT NOV DIC
          (``SEPT`` and a trailing dot, ``ENE.``, are also read)
    MMMM  Spanish month name           ENERO ... DICIEMBRE (``SETIEMBRE`` is also read)

Text in brackets is literal (``[de]``); any other non-letter character is literal, and a run of
whitespace in the format matches any run of whitespace in the value. A letter outside brackets
that is not part of a token is an error, so ``D de MMMM`` must be written ``D [de] MMMM``.

Parsing ignores case and accents, and surrounding whitespace. ``YY`` pivots on the current year:
a two-digit year greater than the current one (``YY >= current two-digit year + 1``) is read in the
1900s, otherwise in the 2000s.

Formatting writes month names the way the token is written: ``MMM``/``MMMM`` give upper case
(``ENE``, ``ENERO``), ``mmm``/``mmmm`` lower case (``ene``, ``enero``) and ``Mmm``/``Mmmm``
capitalised (``Ene``, ``Enero``). Numeric tokens ignore case.

A format must name the year, the month and the day exactly once, and an unpadded ``M`` or ``D``
may not touch another numeric token (``YYYYMD`` would be ambiguous); both are errors at compile
time, so an agreement with a bad format is rejected when it is loaded.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date
from typing import Final

__all__ = ["MONTH_ABBREVIATIONS", "MONTH_NAMES", "DateFormat"]

#: Spanish month names, January first.
MONTH_NAMES: Final = (
    "ENERO",
    "FEBRERO",
    "MARZO",
    "ABRIL",
    "MAYO",
    "JUNIO",
    "JULIO",
    "AGOSTO",
    "SEPTIEMBRE",
    "OCTUBRE",
    "NOVIEMBRE",
    "DICIEMBRE",
)
#: Spanish three-letter month abbreviations, January first.
MONTH_ABBREVIATIONS: Final = tuple(name[:3] for name in MONTH_NAMES)

_FULL_LOOKUP: Final = {name: i for i, name in enumerate(MONTH_NAMES, 1)} | {"SETIEMBRE": 9}
_ABBR_LOOKUP: Final = {abbr: i for i, abbr in enumerate(MONTH_ABBREVIATIONS, 1)} | {"SEPT": 9}

_NUMERIC: Final = frozenset({"YYYY", "YY", "MM", "M", "DD", "D"})
_VALID_RUNS: Final = {"Y": (2, 4), "M": (1, 2, 3, 4), "D": (1, 2)}
_COMPONENT: Final = {"Y": "año", "M": "mes", "D": "día"}


def _fold(text: str) -> str:
    """Upper case without accents (``é`` → ``E``), for comparisons."""
    text = text.upper()
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _tokenize(fmt: str) -> list[tuple[bool, str]]:
    """Split a format into ``(is_token, text)`` parts; tokens keep their written casing."""
    parts: list[tuple[bool, str]] = []
    i, n = 0, len(fmt)
    while i < n:
        ch = fmt[i]
        if ch == "[":
            end = fmt.find("]", i + 1)
            if end < 0:
                raise ValueError(
                    f"formato de fecha '{fmt}': falta el ']' que cierra el texto literal"
                )
            parts.append((False, fmt[i + 1 : end]))
            i = end + 1
        elif ch.isalpha():
            j = i
            while j < n and fmt[j].upper() == ch.upper():
                j += 1
            run = fmt[i:j]
            if len(run) not in _VALID_RUNS.get(ch.upper(), ()):
                raise ValueError(
                    f"formato de fecha '{fmt}': '{run}' no es un elemento válido; use YYYY, YY, "
                    "MM, M, DD, D, MMM o MMMM y escriba el texto literal entre corchetes ([de])"
                )
            parts.append((True, run))
            i = j
        else:
            parts.append((False, ch))
            i += 1
    return parts


def _literal_pattern(text: str) -> str:
    pieces = re.split(r"(\s+)", _fold(text))
    return "".join(r"\s+" if piece.isspace() else re.escape(piece) for piece in pieces if piece)


class DateFormat:
    """A compiled date format: ``DateFormat("DD/MM/YYYY").parse("05/03/1952")``."""

    __slots__ = (
        "_day",
        "_match",
        "_month",
        "_month_lookup",
        "_pivot",
        "_two_digit",
        "_writers",
        "_year",
        "fmt",
    )

    def __init__(self, fmt: str, *, today: date | None = None) -> None:
        self.fmt = fmt
        parts = _tokenize(fmt)
        tokens = [text.upper() for is_token, text in parts if is_token]
        for letter, name in _COMPONENT.items():
            count = sum(1 for token in tokens if token[0] == letter)
            if count != 1:
                raise ValueError(
                    f"formato de fecha '{fmt}': debe indicar el {name} exactamente una vez "
                    f"(se encontró {count} veces)"
                )
        regex: list[str] = [r"\s*"]
        writers: list[Callable[[date], str]] = []
        groups: dict[str, int] = {}
        self._month_lookup: dict[str, int] | None = None
        for k, (is_token, text) in enumerate(parts):
            if not is_token:
                regex.append(_literal_pattern(text))
                writers.append(_literal_writer(text))
                continue
            token = text.upper()
            groups[token[0]] = len(groups) + 1
            if token in _NUMERIC:
                neighbours = [parts[j] for j in (k - 1, k + 1) if 0 <= j < len(parts)]
                touches_number = any(t and s.upper() in _NUMERIC for t, s in neighbours)
                if len(token) == 1 and touches_number:
                    raise ValueError(
                        f"formato de fecha '{fmt}': '{text}' sin ceros a la izquierda junto a otro "
                        f"número es ambiguo; use '{token * 2}' o ponga un separador"
                    )
                width = {"YYYY": "4", "YY": "2", "MM": "2", "DD": "2"}.get(token, "1,2")
                regex.append(rf"(\d{{{width}}})")
                writers.append(_numeric_writer(token))
            else:
                names = MONTH_NAMES if token == "MMMM" else MONTH_ABBREVIATIONS
                lookup = _FULL_LOOKUP if token == "MMMM" else _ABBR_LOOKUP
                alternatives = sorted(lookup, key=len, reverse=True)
                dot = r"\.?" if token == "MMM" else ""
                regex.append("(" + "|".join(alternatives) + ")" + dot)
                self._month_lookup = lookup
                writers.append(_name_writer(names, text))
        regex.append(r"\s*")
        self._match = re.compile("".join(regex), re.IGNORECASE).fullmatch
        self._year = groups["Y"] - 1
        self._month = groups["M"] - 1
        self._day = groups["D"] - 1
        self._two_digit = "YY" in tokens
        self._pivot = ((today or date.today()).year % 100) + 1
        self._writers = tuple(writers)

    def __repr__(self) -> str:
        return f"DateFormat({self.fmt!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DateFormat) and other.fmt == self.fmt

    def __hash__(self) -> int:
        return hash(self.fmt)

    def parse(self, text: str) -> date:
        """The date in ``text``; ``ValueError`` with a Spanish message when it does not fit."""
        match = self._match(text)
        if match is None:
            match = self._match(_fold(text))
            if match is None:
                raise ValueError(
                    f"la fecha '{text}' no tiene el formato '{self.fmt}' "
                    f"(ejemplo: '{self.format(date(1952, 3, 5))}')"
                )
        values = match.groups()
        year = int(values[self._year])
        if self._two_digit:
            year += 1900 if year >= self._pivot else 2000
        raw_month = values[self._month]
        lookup = self._month_lookup
        month = int(raw_month) if lookup is None else lookup[_fold(raw_month)]
        try:
            return date(year, month, int(values[self._day]))
        except ValueError:
            raise ValueError(
                f"la fecha '{text}' no existe (formato '{self.fmt}': año {year}, mes {month}, "
                f"día {int(values[self._day])})"
            ) from None

    def format(self, value: date) -> str:
        """``value`` written in this format."""
        return "".join(write(value) for write in self._writers)


def _literal_writer(text: str) -> Callable[[date], str]:
    return lambda _d: text


def _numeric_writer(token: str) -> Callable[[date], str]:
    if token == "YYYY":
        return lambda d: f"{d.year:04d}"
    if token == "YY":
        return lambda d: f"{d.year % 100:02d}"
    if token == "MM":
        return lambda d: f"{d.month:02d}"
    if token == "M":
        return lambda d: str(d.month)
    if token == "DD":
        return lambda d: f"{d.day:02d}"
    return lambda d: str(d.day)


def _name_writer(names: tuple[str, ...], written: str) -> Callable[[date], str]:
    if written.isupper():
        cased = names
    elif written.islower():
        cased = tuple(name.lower() for name in names)
    else:
        cased = tuple(name.capitalize() for name in names)
    return lambda d: cased[d.month - 1]
