"""RENAPO's rules for the first 16 characters, on hand-checked examples and as a round trip."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.validation import (
    build_curp,
    check_consistency,
    curp_stem,
    decode_curp,
    validate_curp,
)
from hub.validation.curp_rules import INCONVENIENT_WORDS, RENAPO_STATES

from .conftest import TODAY

# (primer apellido, segundo apellido, nombre, born, sex, state, expected stem), checked by hand
# letter by letter against the rules; the people are invented.
EXAMPLES = [
    # plain: G + first internal vowel A, L, J; consonants R (GARCÍA) P (LÓPEZ) N (JUAN)
    ("García", "López", "Juan", date(1985, 3, 7), "H", "JC", "GALJ850307HJCRPN"),
    # particles skipped (DE LA TORRE -> TORRE, DEL RÍO -> RIO); MARÍA JOSÉ uses JOSÉ;
    # RIO has no internal consonant -> X
    ("de la Torre", "del Río", "María José", date(1990, 12, 1), "M", "DF", "TORJ901201MDFRXS"),
    # JOSÉ LUIS uses LUIS; born 2003
    ("Martínez", "Sánchez", "José Luis", date(2003, 5, 20), "H", "NL", "MASL030520HNLRNS"),
    # Ñ -> X: as a first letter (ÑUÑEZ) and as an internal consonant (MUÑOZ, ÑUÑEZ)
    ("Muñoz", "Ñuñez", "Pedro", date(1975, 1, 1), "H", "OC", "MUXP750101HOCXXD"),
    # no second surname -> X in positions 3 and 15; born abroad (NE)
    ("Smith", None, "John", date(1960, 6, 15), "H", "NE", "SIXJ600615HNEMXH"),
    ("Smith", "", "John", date(1960, 6, 15), "H", "NE", "SIXJ600615HNEMXH"),
    # inconvenient word BACA -> BXCA
    ("Baños", "Cortés", "Ana", date(1980, 2, 29), "M", "GT", "BXCA800229MGTXRN"),
    # inconvenient word LOCA -> LXCA
    ("Loera", "Castro", "Antonio", date(1971, 10, 31), "H", "CH", "LXCA711031HCHRSN"),
    # MA. abbreviation of MARÍA, compound: uses GUADALUPE
    ("Ramírez", "Cruz", "Ma. Guadalupe", date(1958, 8, 8), "M", "PL", "RACG580808MPLMRD"),
    # MARÍA alone is the name
    ("López", "García", "María", date(1999, 12, 31), "M", "SP", "LOGM991231MSPPRR"),
    # DE LOS SANTOS -> SANTOS; MA DEL CARMEN -> CARMEN
    ("De los Santos", "Pérez", "Ma del Carmen", date(1966, 4, 4), "M", "VZ", "SAPC660404MVZNRR"),
    # compound surname joined by a hyphen: the first word
    ("Pérez-Gil", "Ortiz", "Laura", date(2010, 7, 7), "M", "YN", "PEOL100707MYNRRR"),
    # J. abbreviation of JOSÉ, compound: uses ANTONIO
    ("Reyes", "Flores", "J. Antonio", date(1948, 2, 2), "H", "ZS", "REFA480202HZSYLN"),
    # sex X
    ("Ruiz", "Soto", "Alex", date(2001, 4, 2), "X", "YN", "RUSA010402XYNZTL"),
]


@pytest.mark.parametrize(
    ("primer", "segundo", "nombre", "born", "sex", "state", "stem"), EXAMPLES
)
def test_hand_checked_stems(primer, segundo, nombre, born, sex, state, stem) -> None:
    assert curp_stem(primer, segundo, nombre, born, sex, state) == stem


def test_rejects_bad_sex_and_state() -> None:
    with pytest.raises(ValueError):
        curp_stem("GARCIA", "LOPEZ", "JUAN", date(1985, 3, 7), "F", "JC")
    with pytest.raises(ValueError):
        curp_stem("GARCIA", "LOPEZ", "JUAN", date(1985, 3, 7), "H", "09")


_NAME_WORDS = st.sampled_from(
    [
        "GARCÍA", "HERNÁNDEZ", "NÚÑEZ", "ÑUÑEZ", "PEÑA", "OÑATE", "BACA", "COLA", "MULA",
        "DE", "LA", "DEL", "LOS", "Y", "VAN", "MC", "MARÍA", "MA.", "JOSÉ", "J.", "GPE",
        "LUIS", "ANA", "ÚRSULA", "AIA", "O'HARA", "ÜRIEL", "UU", "A", "X", "IÑIGO", "CH",
    ]
)  # fmt: skip
_NAMES = st.lists(_NAME_WORDS, min_size=1, max_size=4).map(" ".join)
_FREE_TEXT = st.text(alphabet="ABCEGILMNOPRSTUVYÑÁÉÍÓÚÜ -'.", min_size=1, max_size=20)


@st.composite
def people(draw: st.DrawFn) -> tuple[str, str | None, str, date, str, str, str]:
    primer = draw(st.one_of(_NAMES, _FREE_TEXT))
    segundo = draw(st.one_of(st.none(), st.just(""), _NAMES, _FREE_TEXT))
    nombre = draw(st.one_of(_NAMES, _FREE_TEXT))
    born = date(1900, 1, 1) + timedelta(days=draw(st.integers(0, (TODAY - date(1900, 1, 1)).days)))
    sex = draw(st.sampled_from("HMX"))
    state = draw(st.sampled_from(sorted(RENAPO_STATES)))
    pool = "0123456789" if born.year < 2000 else "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    homoclave = draw(st.sampled_from(pool))
    return primer, segundo, nombre, born, sex, state, homoclave


@given(people())
def test_built_curps_validate_and_decode_back(person) -> None:
    primer, segundo, nombre, born, sex, state, homoclave = person
    curp = build_curp(curp_stem(primer, segundo, nombre, born, sex, state), homoclave)
    assert validate_curp(curp, today=TODAY) == []
    assert curp[:4] not in INCONVENIENT_WORDS
    parts = decode_curp(curp)
    assert (parts.birth_date, parts.sex, parts.state) == (born, sex, state)
    assert (
        check_consistency(
            curp,
            primer_apellido=primer,
            segundo_apellido=segundo,
            nombre=nombre,
            fecha_nacimiento=born,
            sexo=sex,
            entidad_nacimiento=state,
        )
        == []
    )
