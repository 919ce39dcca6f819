"""How the history questions are asked: months, years and CVEGEO that cannot be right are told
clearly (never a Python ValueError, never a silent empty answer)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from hub.registry import RegistryQueryError, enrolled_in, month_range, paid_in
from tests.hub.registry.conftest import PROGRAM


@pytest.mark.parametrize("month", ["0000-01", "9999-12", "２０２５-０３", "2025-00", "2025-3"])
def test_a_month_outside_the_calendar_or_not_in_ascii_digits(month: str) -> None:
    with pytest.raises(RegistryQueryError, match="mes inválido"):
        month_range(month)


def test_the_last_month_the_calendar_can_end() -> None:
    assert month_range("9998-12")[1].year == 9999


@pytest.mark.parametrize("cvegeo", ["０７", "07０89", "²7"])
def test_a_cvegeo_in_other_digits_is_refused_not_an_empty_answer(
    registry: Engine, cvegeo: str
) -> None:
    with pytest.raises(RegistryQueryError, match="CVEGEO inválida"):
        paid_in(registry, PROGRAM, cvegeo, 2025)


def test_enrolled_in_refuses_a_bad_month(registry: Engine) -> None:
    with pytest.raises(RegistryQueryError, match="AAAA-MM"):
        enrolled_in(registry, PROGRAM, "0000-01")
