"""CURPs for many people at once: name letters and check sums precomputed per name-pool entry.

A CURP's 16-character stem is four name letters, the birth date, sex, birth state and three
internal consonants; the 18th character is a weighted sum of the other 17 (``CHECK_VALUES``, weights
18 down to 2). The letters each pool name contributes, and their share of the sum, are worked out
once with the validation's own rules (``hub.validation.curp_stem``), so building a person's CURP
is a few table look-ups. A four-letter word RENAPO replaces (inconvenient words) is rare and takes
the slow path through ``replace_inconvenient``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Final

from hub.validation.curp_rules import CHECK_VALUES, CVE_ENT_TO_RENAPO, INCONVENIENT_WORDS
from hub.validation.curp_stem import raw_name_letters, replace_inconvenient

__all__ = ["CurpTable", "check_digit", "date_part"]

_DIGITS: Final = "0123456789"
_LETTERS: Final = "ABCDEFGHIJKLMNPQRSTUVWXYZ"
_CHECK: Final = "0987654321"  # the check digit by (sum of the 17 weighted values) mod 10
_DIGIT_SUMS: Final = tuple(CHECK_VALUES[c] * 2 for c in _DIGITS)
_LETTER_SUMS: Final = tuple(CHECK_VALUES[c] * 2 for c in _LETTERS)


def _weighted(text: str, offset: int) -> int:
    """Check-sum share of ``text`` placed at 0-based ``offset`` of the CURP (weight 18 - pos)."""
    return sum(CHECK_VALUES[c] * (18 - offset - i) for i, c in enumerate(text))


def check_digit(first17: str) -> str:
    """The 18th character of a CURP whose first 17 characters are ``first17``."""
    return str((10 - _weighted(first17, 0) % 10) % 10)


def date_part(born: date) -> tuple[str, int]:
    """(YYMMDD, its check-sum share) of a birth date."""
    ymd = f"{born.year % 100:02d}{born.month:02d}{born.day:02d}"
    return ymd, _weighted(ymd, 4)


class CurpTable:
    """Letters and sums for surnames ``surnames`` (plus "no second surname") and given names.

    Indexes: ``first`` and ``second`` index ``surnames`` (``second == len(surnames)`` means none),
    ``given`` indexes ``given_names``.
    """

    def __init__(self, surnames: Sequence[str], given_names: Sequence[str]) -> None:
        self.none = len(surnames)
        seconds = [*surnames, None]
        # Positions 1-2 and 14 (first surname), 3 and 15 (second), 4 and 16 (given name).
        self.first_word: list[str] = []
        self.first_cons: list[str] = []
        self.first_sum: list[int] = []
        for name in surnames:
            word, cons = raw_name_letters(name, None, "X")
            self.first_word.append(word[:2])
            self.first_cons.append(cons[0])
            self.first_sum.append(_weighted(word[:2], 0) + _weighted(cons[0], 13))
        self.second_word: list[str] = []
        self.second_cons: list[str] = []
        self.second_sum: list[int] = []
        for second in seconds:
            word, cons = raw_name_letters("X", second, "X")
            self.second_word.append(word[2])
            self.second_cons.append(cons[1])
            self.second_sum.append(_weighted(word[2], 2) + _weighted(cons[1], 14))
        self.given_word: list[str] = []
        self.given_cons: list[str] = []
        self.given_sum: list[int] = []
        for given in given_names:
            word, cons = raw_name_letters("X", None, given)
            self.given_word.append(word[3])
            self.given_cons.append(cons[2])
            self.given_sum.append(_weighted(word[3], 3) + _weighted(cons[2], 15))
        # (letters 1-3, their sum with consonants 14-15, consonants 14-15) per surname pair
        self._pairs = [
            (fw + sw, fs + ss, fc + sc)
            for fw, fs, fc in zip(self.first_word, self.first_sum, self.first_cons, strict=True)
            for sw, ss, sc in zip(self.second_word, self.second_sum, self.second_cons, strict=True)
        ]
        self.state_part: dict[tuple[str, str], tuple[str, int]] = {}
        for cve_ent, renapo in CVE_ENT_TO_RENAPO.items():
            key = "NE" if cve_ent == "99" else cve_ent
            for sex in "HMX":
                self.state_part[(sex, key)] = (sex + renapo, _weighted(sex + renapo, 10))

    def build_many(
        self,
        firsts: list[int],
        seconds: list[int],
        givens: list[int],
        births: list[tuple[str, int, bool]],
        sex_states: list[tuple[str, int]],
        homoclaves: list[int],
        seen: set[str],
    ) -> list[str]:
        """CURPs of many people; ``births`` holds (YYMMDD, its sum, born in 2000 or later).

        A CURP already in ``seen`` gets the next homoclave, as RENAPO tells apart people whose
        other 17 characters coincide; every CURP returned is added to ``seen``.
        """
        pairs = self._pairs
        width = len(self.second_word)
        gw, gs, gc = self.given_word, self.given_sum, self.given_cons
        check = _CHECK
        out: list[str] = []
        for f, s, g, (ymd, ymd_sum, after), (sex_state, sex_sum), h in zip(
            firsts, seconds, givens, births, sex_states, homoclaves, strict=True
        ):
            letters, pair_sum, consonants = pairs[f * width + s]
            word = letters + gw[g]
            total = pair_sum + gs[g] + ymd_sum + sex_sum
            if word in INCONVENIENT_WORDS:
                fixed = replace_inconvenient(word)
                total += _weighted(fixed, 0) - _weighted(word, 0)
                word = fixed
            head = f"{word}{ymd}{sex_state}{consonants}{gc[g]}"
            chars, sums = (_LETTERS, _LETTER_SUMS) if after else (_DIGITS, _DIGIT_SUMS)
            h %= len(chars)
            curp = f"{head}{chars[h]}{check[(total + sums[h]) % 10]}"
            while curp in seen:
                h = (h + 1) % len(chars)
                curp = f"{head}{chars[h]}{check[(total + sums[h]) % 10]}"
            seen.add(curp)
            out.append(curp)
        return out

    def build(
        self,
        first: int,
        second: int,
        given: int,
        ymd: str,
        ymd_sum: int,
        sex_state: tuple[str, int],
        homoclave: int,
        after_2000: bool,
    ) -> str:
        """The CURP; ``homoclave`` indexes the digits (born before 2000) or the letters."""
        word = self.first_word[first] + self.second_word[second] + self.given_word[given]
        total = (
            self.first_sum[first] + self.second_sum[second] + self.given_sum[given]
            + ymd_sum + sex_state[1]
        )  # fmt: skip
        if word in INCONVENIENT_WORDS:
            fixed = replace_inconvenient(word)
            total += _weighted(fixed, 0) - _weighted(word, 0)
            word = fixed
        h = _LETTERS[homoclave % 25] if after_2000 else _DIGITS[homoclave % 10]
        total += CHECK_VALUES[h] * 2
        cons = self.first_cons[first] + self.second_cons[second] + self.given_cons[given]
        return f"{word}{ymd}{sex_state[0]}{cons}{h}{(10 - total % 10) % 10}"
