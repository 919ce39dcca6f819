"""Fixtures for contract tests: the repository's catalog, loaded once."""

from __future__ import annotations

import pytest

from hub.contracts import Catalog, load_catalog
from hub.settings import REPO_ROOT


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog(REPO_ROOT / "avro_schemas")
