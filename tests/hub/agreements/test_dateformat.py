"""DateFormat: token tables, Spanish month names, errors, and format→parse round-trips."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.agreements.dateformat import DateFormat

TODAY = date(2025, 6, 1)


@pytest.mark.parametrize(
    ("fmt", "text", "expected"),
    [
        ("YYYY-MM-DD", "1952-03-05", date(1952, 3, 5)),
        ("YYYYMMDD", "19520305", date(1952, 3, 5)),
        ("DD/MM/YYYY", "05/03/1952", date(1952, 3, 5)),
        ("D/M/YYYY", "5/3/1952", date(1952, 3, 5)),
        ("D/M/YYYY", "17/11/2001", date(2001, 11, 17)),
        ("DD-MMM-YYYY", "05-MAR-1952", date(1952, 3, 5)),
        ("DD-MMM-YYYY", "17-sep-2001", date(2001, 9, 17)),
        ("DD-MMM-YYYY", "17-SEPT-2001", date(2001, 9, 17)),
        ("DD-MMM-YYYY", "01-Ene.-2020", date(2020, 1, 1)),
        ("DD-MMM-YYYY", "31-dic-1999", date(1999, 12, 31)),
        ("D [de] MMMM [de] YYYY", "5 de marzo de 1952", date(1952, 3, 5)),
        ("D [de] MMMM [de] YYYY", "17 DE SEPTIEMBRE DE 2001", date(2001, 9, 17)),
        ("D [de] MMMM [de] YYYY", "17 de setiembre de 2001", date(2001, 9, 17)),
        ("D [de] MMMM [de] YYYY", "  1   de  Enero de 2000 ", date(2000, 1, 1)),
        ("D [DE] MMMM [DEL] YYYY", "2 de febrero del 2010", date(2010, 2, 2)),
        ("D [de] MMMM [del año] YYYY", "2 de febrero del ANO 2010", date(2010, 2, 2)),
        ("D [de] MMMM [del año] YYYY", "2 de febrero del Año 2010", date(2010, 2, 2)),
        ("DD.MM.YY", "05.03.52", date(1952, 3, 5)),
        ("DD.MM.YY", "05.03.25", date(2025, 3, 5)),
        ("DD.MM.YY", "05.03.26", date(1926, 3, 5)),
        ("DD.MM.YY", "05.03.00", date(2000, 3, 5)),
        ("MMMM D, YYYY", "agosto 9, 1980", date(1980, 8, 9)),
        ("yyyy-mm-dd", "1980-08-09", date(1980, 8, 9)),
    ],
)
def test_parse_table(fmt: str, text: str, expected: date) -> None:
    assert DateFormat(fmt, today=TODAY).parse(text) == expected


@pytest.mark.parametrize(
    ("fmt", "value", "expected"),
    [
        ("YYYY-MM-DD", date(1952, 3, 5), "1952-03-05"),
        ("D/M/YYYY", date(1952, 3, 5), "5/3/1952"),
        ("DD-MMM-YYYY", date(2001, 9, 17), "17-SEP-2001"),
        ("DD-mmm-YYYY", date(2001, 9, 17), "17-sep-2001"),
        ("DD-Mmm-YYYY", date(2001, 9, 17), "17-Sep-2001"),
        ("D [de] MMMM [de] YYYY", date(1952, 3, 5), "5 de MARZO de 1952"),
        ("d [de] mmmm [de] yyyy", date(1952, 3, 5), "5 de marzo de 1952"),
        ("D [de] Mmmm [de] YYYY", date(1952, 3, 5), "5 de Marzo de 1952"),
        ("YYMMDD", date(2003, 1, 9), "030109"),
    ],
)
def test_format_table(fmt: str, value: date, expected: str) -> None:
    assert DateFormat(fmt).format(value) == expected


@pytest.mark.parametrize(
    ("fmt", "fragment"),
    [
        ("D de MMMM de YYYY", "'e' no es un elemento válido"),
        ("YYY-MM-DD", "'YYY'"),
        ("YYYY-MMMMM-DD", "'MMMMM'"),
        ("DDD/MM/YYYY", "'DDD'"),
        ("hh DD/MM/YYYY", "'hh'"),
        ("DD/MM", "el año exactamente una vez"),
        ("YYYY/DD", "el mes exactamente una vez"),
        ("YYYY-MM-DD-DD", "el día exactamente una vez"),
        ("YYYYMD", "ambiguo"),
        ("DMYYYY", "ambiguo"),
        ("[de YYYY", "falta el ']'"),
    ],
)
def test_bad_formats_are_rejected(fmt: str, fragment: str) -> None:
    with pytest.raises(ValueError, match="formato de fecha") as info:
        DateFormat(fmt)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("fmt", "text", "fragment"),
    [
        ("DD/MM/YYYY", "5-3-1952", "no tiene el formato 'DD/MM/YYYY' (ejemplo: '05/03/1952')"),
        ("DD/MM/YYYY", "31/02/2020", "no existe"),
        ("DD/MM/YYYY", "05/13/2020", "no existe"),
        ("YYYYMMDD", "1952035", "no tiene el formato"),
        ("DD-MMM-YYYY", "05-MRZ-1952", "no tiene el formato"),
        ("DD-MMM-YYYY", "", "no tiene el formato"),
    ],
)
def test_bad_values_raise_spanish_value_error(fmt: str, text: str, fragment: str) -> None:
    with pytest.raises(ValueError) as info:
        DateFormat(fmt).parse(text)
    assert fragment in str(info.value)


def test_equality_and_repr() -> None:
    assert DateFormat("YYYYMMDD") == DateFormat("YYYYMMDD")
    assert len({DateFormat("YYYYMMDD"), DateFormat("YYYYMMDD")}) == 1
    assert repr(DateFormat("YYYYMMDD")) == "DateFormat('YYYYMMDD')"


ROUND_TRIP_FORMATS = [
    "YYYY-MM-DD",
    "YYYYMMDD",
    "DDMMYYYY",
    "DD/MM/YYYY",
    "D/M/YYYY",
    "M/D/YYYY",
    "DD-MMM-YYYY",
    "DD-mmm-YYYY",
    "D [de] MMMM [de] YYYY",
    "d [de] mmmm [de] yyyy",
    "MMMM D, YYYY",
    "DD.MM.YY",
    "YYMMDD",
    "D-MMM-YY",
    "Mmmm DD YYYY",
]


@pytest.mark.parametrize("fmt", ROUND_TRIP_FORMATS)
@given(data=st.data())
def test_round_trip(fmt: str, data: st.DataObject) -> None:
    compiled = DateFormat(fmt, today=TODAY)
    if "YYYY" in fmt.upper():
        dates = st.dates(min_value=date(1000, 1, 1), max_value=date(9999, 12, 31))
    else:
        # two-digit years only round-trip inside the pivot window (1926-2025 for TODAY)
        dates = st.dates(min_value=date(1926, 1, 1), max_value=date(2025, 12, 31))
    value = data.draw(dates)
    assert compiled.parse(compiled.format(value)) == value
