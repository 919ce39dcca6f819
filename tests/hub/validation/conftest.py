"""Fixtures of the validation tests: the real INEGI catalog and a fixed "today"."""

from __future__ import annotations

from datetime import date

import pytest

from hub.settings import Settings
from hub.validation import GeoCatalog

TODAY = date(2025, 11, 1)


@pytest.fixture(scope="session")
def catalog() -> GeoCatalog:
    path = Settings().reference_data
    if path is None:
        pytest.skip("no hay datos de referencia (SISI_REFERENCE_DATA)")
    return GeoCatalog.load(path)
