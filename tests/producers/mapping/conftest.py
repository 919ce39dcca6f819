"""Fixtures of the mapping tests: real-shaped CURPs and the INEGI catalog."""

from __future__ import annotations

from datetime import date

import pytest

from hub.validation.curp import build_curp
from hub.validation.curp_stem import curp_stem
from hub.validation.geography import GeoCatalog


def make_curp(
    primer: str, segundo: str | None, nombre: str, born: date, sex: str, state: str
) -> str:
    """The CURP RENAPO would assign (homoclave 0/A), with a valid check digit."""
    stem = curp_stem(primer, segundo, nombre, born, sex, state)
    return build_curp(stem, "0" if born.year < 2000 else "A")


@pytest.fixture(scope="session")
def catalog() -> GeoCatalog:
    return GeoCatalog.load()
