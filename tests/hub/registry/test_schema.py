"""Migrations build the registry on a fresh database and agree with the models."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

import hub.registry
from hub.db import Base, migrate
from hub.registry import REGISTRY_TABLES


def _table_of(diff: Any) -> str | None:
    if isinstance(diff, list):  # modify_* diffs come as lists of tuples
        diff = diff[0]
    for part in diff[1:]:
        name = getattr(part, "name", None) if not isinstance(part, str) else None
        table = getattr(part, "table", None)
        if table is not None and getattr(table, "name", None):
            return str(table.name)
        if name is not None and hasattr(part, "columns") and hasattr(part, "metadata"):
            return str(name)
        if isinstance(part, str) and part in REGISTRY_TABLES:
            return part
    return None


def test_migrations_create_every_registry_table(db_engine: Engine) -> None:
    migrate(db_engine)
    tables = set(inspect(db_engine).get_table_names())
    assert set(REGISTRY_TABLES) <= tables


def test_models_match_the_migrated_schema(db_engine: Engine) -> None:
    migrate(db_engine)
    with db_engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    ours = [d for d in diffs if _table_of(d) in REGISTRY_TABLES]
    assert ours == []


def test_migrating_twice_is_harmless(db_engine: Engine) -> None:
    migrate(db_engine)
    migrate(db_engine)
    assert set(REGISTRY_TABLES) <= set(inspect(db_engine).get_table_names())


def test_public_api_is_exactly_all() -> None:
    public = {name for name in dir(hub.registry) if not name.startswith("_")} - {"annotations"}
    modules = {
        "batch",
        "bulk",
        "fresh",
        "general",
        "history",
        "items",
        "linking",
        "models",
        "programs",
        "queries",
        "writer",
    }
    assert public - modules == set(hub.registry.__all__)
