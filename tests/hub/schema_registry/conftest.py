"""Fixtures shared by the Schema Registry tests: the repository's catalog and a migrated store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hub.contracts import Catalog, load_catalog
from hub.db import make_engine, migrate
from hub.schema_registry.store import SchemaStore
from hub.settings import REPO_ROOT


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    """The contracts in ``avro_schemas/``."""
    return load_catalog(REPO_ROOT / "avro_schemas")


@pytest.fixture
def store(db_url: str) -> Iterator[SchemaStore]:
    """An empty, migrated registry on each database (SQLite and PostgreSQL)."""
    engine = make_engine(db_url)
    migrate(engine)
    try:
        yield SchemaStore(engine)
    finally:
        engine.dispose()
