"""RENAPO's fixed tables for the CURP: state codes, inconvenient words, particles, check values.

These are facts of the *Instructivo Normativo para la Asignación de la Clave Única de Registro de
Población* (RENAPO), not configuration; ``tests/hub/validation`` cross-checks the state codes
against INEGI's ``estados.csv``.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

__all__ = [
    "CHECK_VALUES",
    "COMPOUND_GIVEN_NAME_PREFIXES",
    "CVE_ENT_TO_RENAPO",
    "INCONVENIENT_WORDS",
    "NAME_PARTICLES",
    "RENAPO_STATES",
    "RENAPO_TO_CVE_ENT",
    "SEX_CODES",
]

#: RENAPO state code (positions 12-13) -> INEGI CVE_ENT; NE is "nacido en el extranjero".
RENAPO_TO_CVE_ENT: Final = MappingProxyType(
    {
        "AS": "01", "BC": "02", "BS": "03", "CC": "04", "CL": "05", "CM": "06", "CS": "07",
        "CH": "08", "DF": "09", "DG": "10", "GT": "11", "GR": "12", "HG": "13", "JC": "14",
        "MC": "15", "MN": "16", "MS": "17", "NT": "18", "NL": "19", "OC": "20", "PL": "21",
        "QT": "22", "QR": "23", "SP": "24", "SL": "25", "SR": "26", "TC": "27", "TS": "28",
        "TL": "29", "VZ": "30", "YN": "31", "ZS": "32", "NE": "99",
    }
)  # fmt: skip
CVE_ENT_TO_RENAPO: Final = MappingProxyType({v: k for k, v in RENAPO_TO_CVE_ENT.items()})
RENAPO_STATES: Final = frozenset(RENAPO_TO_CVE_ENT)

#: Position 11: H (hombre), M (mujer), X (no binario, assigned since 2023).
SEX_CODES: Final = frozenset("HMX")

#: Four-letter words RENAPO never assigns: their second letter is replaced by X.
# The tables are written as words, the way the Instructivo prints them.
INCONVENIENT_WORDS: Final = frozenset(
    """
    BACA BAKA BUEI BUEY CACA CACO CAGA CAGO CAKA CAKO COGE COGI COJA COJE COJI COJO COLA
    CULO FALO FETO GETA GUEI GUEY JETA JOTO KACA KACO KAGA KAGO KAKA KAKO KOGE KOGI KOJA
    KOJE KOJI KOJO KOLA KULO LILO LOCA LOCO LOKA LOKO MAME MAMO MEAR MEAS MEON MIAR MION
    MOCO MOKO MULA MULO NACA NACO PEDA PEDO PENE PIPI PITO POPO PUTA PUTO QULO RATA ROBA
    ROBE ROBO RUIN SENO TETA VACA VAGA VAGO VAKA VUEI VUEY WUEI WUEY
    """.split()  # noqa: SIM905
)

#: Words of compound surnames and names that are skipped when taking letters.
NAME_PARTICLES: Final = frozenset(
    "DA DAS DE DEL DER DI DIE DD EL LA LOS LAS LE LES MAC MC VAN VON Y".split()  # noqa: SIM905
)

#: A compound given name starting with one of these uses its next word for the CURP.
COMPOUND_GIVEN_NAME_PREFIXES: Final = frozenset({"MARIA", "MA.", "MA", "JOSE", "J.", "J"})

#: Check-digit value of each character (RENAPO's table: digits, then A-N, Ñ, O-Z).
CHECK_VALUES: Final = MappingProxyType(
    {c: i for i, c in enumerate("0123456789ABCDEFGHIJKLMNÑOPQRSTUVWXYZ")}
)
