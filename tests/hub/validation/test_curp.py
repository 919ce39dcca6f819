"""CURP validation and decoding, against python-stdnum's published test vectors."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.mx import curp as stdnum_curp

from hub.validation import (
    build_curp,
    check_digit,
    curp_stem,
    decode_curp,
    normalize_curp,
    validate_curp,
)
from hub.validation.curp_rules import RENAPO_STATES

from .conftest import TODAY

# python-stdnum's vectors (stdnum/mx/curp.py doctests and tests/test_mx_curp.doctest):
# (CURP, birth date, sex) for the valid ones. All are hypothetical people.
STDNUM_VALID = [
    ("BOXW310820HNERXN09", date(1931, 8, 20), "H"),
    ("HEGG560427MVZRRL04", date(1956, 4, 27), "M"),
    ("BEML920313HMCLNS09", date(1992, 3, 13), "H"),
    ("PEGL890909MJCRMS08", date(1989, 9, 9), "M"),
    ("AAAA000101HDFCCC09", date(1900, 1, 1), "H"),
    ("AAMG890608HDFLJL00", date(1989, 6, 8), "H"),
    ("BAAA890317HDFRLL03", date(1989, 3, 17), "H"),
    ("BAAD890419HMNRRV07", date(1989, 4, 19), "H"),
    ("HEGR891009HMNRRD09", date(1989, 10, 9), "H"),
    ("MARR890512HMNRMN09", date(1989, 5, 12), "H"),
    ("MESJ890928HMNZNS00", date(1989, 9, 28), "H"),
    ("OOMG890727HMNRSR06", date(1989, 7, 27), "H"),
    ("TOMA880125HMNRRN02", date(1988, 1, 25), "H"),
    ("VIAA900930MMNCLL08", date(1990, 9, 30), "M"),
]
# (CURP, the reason code we give) for stdnum's invalid examples.
STDNUM_INVALID = [
    ("BOXW310820HNERXN08", "CURP_CHECK_DIGIT"),
    ("1230", "CURP_LENGTH"),
    ("123ZZZZZZZZZZZZZ90", "CURP_STRUCTURE"),
    ("BACA890909MJCRMS05", "CURP_INCONVENIENT_WORD"),
    ("PEGL891313MJCRMS06", "CURP_DATE"),
    ("PEGL890909QJCRMS08", "CURP_SEX"),
    ("PEGL890909MQQRMS02", "CURP_STATE"),
    ("PEGL890909MJCRMS09", "CURP_CHECK_DIGIT"),
]
# stdnum also lists TOMA880125HMNRRNO2 as valid: letter O for digit 0 in position 17 keeps the
# check digit but makes the birth year 2088. stdnum does not look at the calendar; we do.
TYPO_FUTURE = "TOMA880125HMNRRNO2"
FAR_FUTURE = date(2200, 1, 1)


def codes(curp: str, today: date = TODAY) -> set[str]:
    return {issue.code for issue in validate_curp(curp, today=today)}


@pytest.mark.parametrize(("curp", "born", "sex"), STDNUM_VALID)
def test_stdnum_valid_vectors_are_valid_and_decode(curp: str, born: date, sex: str) -> None:
    assert validate_curp(curp, today=TODAY) == []
    parts = decode_curp(curp)
    assert (parts.birth_date, parts.sex, parts.state) == (born, sex, curp[11:13])
    assert stdnum_curp.is_valid(curp)


@pytest.mark.parametrize(("curp", "code"), STDNUM_INVALID)
def test_stdnum_invalid_vectors_are_invalid_with_the_reason(curp: str, code: str) -> None:
    assert code in codes(curp)
    assert not stdnum_curp.is_valid(curp)


def test_letter_o_for_zero_is_a_future_birth_date() -> None:
    assert stdnum_curp.is_valid(TYPO_FUTURE)
    assert codes(TYPO_FUTURE) == {"CURP_FUTURE_DATE"}
    assert decode_curp(TYPO_FUTURE).birth_date == date(2088, 1, 25)
    assert codes(TYPO_FUTURE, today=FAR_FUTURE) == set()


def test_check_digit_of_the_vectors() -> None:
    for curp, _, _ in STDNUM_VALID:
        assert check_digit(curp[:17]) == curp[17]
        assert check_digit(curp[:17]) == stdnum_curp.calc_check_digit(curp)


def test_century_comes_from_position_17() -> None:
    stem = "PEGL050909MJCRMS"
    assert decode_curp(build_curp(stem, "0")).birth_date == date(1905, 9, 9)
    assert decode_curp(build_curp(stem, "A")).birth_date == date(2005, 9, 9)


def test_sex_x_is_accepted() -> None:
    curp = build_curp(curp_stem("RUIZ", "SOTO", "ALEX", date(2001, 4, 2), "X", "YN"), "B")
    assert curp == "RUSA010402XYNZTL" + "B" + curp[17]
    assert validate_curp(curp, today=TODAY) == []
    assert decode_curp(curp).sex == "X"
    assert not stdnum_curp.is_valid(curp)  # stdnum predates the 2023 rule


def test_every_renapo_state_and_ne_are_accepted() -> None:
    assert len(RENAPO_STATES) == 33
    for state in RENAPO_STATES:
        curp = build_curp(f"PEGL890909M{state}RMS", "0")
        assert validate_curp(curp, today=TODAY) == [], state


def test_future_and_impossible_dates() -> None:
    assert codes(build_curp("PEGL251102MJCRMS", "A")) == {"CURP_FUTURE_DATE"}
    assert codes(build_curp("PEGL251101MJCRMS", "A")) == set()
    assert codes(build_curp("PEGL890229MJCRMS", "0")) == {"CURP_DATE"}  # 1989 not a leap year
    assert codes(build_curp("PEGL000229MJCRMS", "A")) == set()  # 2000 was


def test_structure_and_length() -> None:
    assert codes("PEGL890909MJCRMS0") == {"CURP_LENGTH"}
    assert codes("pegl890909mjcrms08") == {"CURP_STRUCTURE"}
    assert codes("PEGL89O909MJCRMS08") == {"CURP_STRUCTURE"}
    assert normalize_curp(" pegl-890909 mjcrms08 ") == "PEGL890909MJCRMS08"


def test_each_issue_has_spanish_text_and_field() -> None:
    (issue,) = validate_curp("PEGL890909MJCRMS09", today=TODAY)
    assert issue.field == "curp"
    assert issue.severity == "error"
    assert "dígito verificador" in issue.message
    assert "'8'" in issue.message


def test_decode_rejects_malformed() -> None:
    for bad in ("1230", "PEGL891313MJCRMS06", "PEGL890909QJCRMS08", "PEGL890909MQQRMS02"):
        with pytest.raises(ValueError):
            decode_curp(bad)


def test_build_curp_rejects_bad_parts() -> None:
    with pytest.raises(ValueError):
        build_curp("PEGL890909MJCRM", "0")
    with pytest.raises(ValueError):
        build_curp("PEGL890909MJCRMS", "00")
    with pytest.raises(ValueError):
        check_digit("PEGL890909MJCRM*0")


_LETTER = st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_DIGIT = st.sampled_from("0123456789")


@st.composite
def curp_like(draw: st.DrawFn) -> str:
    """Well-formed-looking CURPs, some with bad dates, states, sexes or check digits."""
    letters = "".join(draw(st.lists(_LETTER, min_size=4, max_size=4)))
    digits = "".join(draw(st.lists(_DIGIT, min_size=6, max_size=6)))
    sex = draw(st.sampled_from("HMQ"))  # not X: stdnum does not know it
    state = draw(st.sampled_from([*sorted(RENAPO_STATES), "QQ", "XX"]))
    tail = "".join(draw(st.lists(_LETTER, min_size=3, max_size=3)))
    differentiator = draw(st.one_of(_LETTER, _DIGIT))
    first17 = letters + digits + sex + state + tail + differentiator
    last = draw(st.one_of(st.just(check_digit(first17)), _DIGIT))
    return first17 + last


@given(curp_like())
def test_agrees_with_stdnum_on_generated_curps(curp: str) -> None:
    # With a calendar far ahead, the only rule stdnum lacks (no future birth) never applies.
    ours = validate_curp(curp, today=FAR_FUTURE) == []
    assert ours == stdnum_curp.is_valid(curp)
