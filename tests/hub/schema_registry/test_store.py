"""The registry store on SQLite and PostgreSQL: seed, register, look up, config, deletes."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from sqlalchemy import inspect

from hub.contracts import Catalog, CompatibilityMode
from hub.errors import IncompatibleSchemaError
from hub.schema_registry import (
    InvalidCompatibilityError,
    InvalidSchemaError,
    SchemaNotFoundError,
    SchemaStore,
    SubjectConfigNotFoundError,
    SubjectNotFoundError,
    SubjectNotSoftDeletedError,
    SubjectSoftDeletedError,
    VersionNotFoundError,
    VersionNotSoftDeletedError,
    VersionSoftDeletedError,
    seed_from_catalog,
)

CHANGE_SET = "mx.gob.sisi.padron.ChangeSet"


def test_migration_creates_the_tables(store: SchemaStore) -> None:
    tables = set(inspect(store.engine).get_table_names())
    assert {"sr_schemas", "sr_subject_versions", "sr_config", "alembic_version"} <= tables


def test_seed_is_idempotent(store: SchemaStore, catalog: Catalog) -> None:
    first = seed_from_catalog(store, catalog)
    assert len(first.registered) == sum(len(s.versions) for s in catalog)
    second = seed_from_catalog(store, catalog)
    assert second.registered == ()
    assert len(second.existing) == len(first.registered)
    assert store.subjects() == sorted(catalog.names)
    assert store.versions(CHANGE_SET) == [1, 2]
    assert store.get_config(CHANGE_SET) is CompatibilityMode.BACKWARD_TRANSITIVE
    assert store.get_config("mx.gob.sisi.hub.Receipt") is CompatibilityMode.FULL_TRANSITIVE


def test_register_lookup_and_get(store: SchemaStore, catalog: Catalog) -> None:
    v1, v2 = catalog.subject(CHANGE_SET).versions
    one = store.register(CHANGE_SET, v1.text)
    again = store.register(CHANGE_SET, json.dumps(v1.definition, indent=4))  # reformatted
    assert (again.id, again.version) == (one.id, 1)
    two = store.register(CHANGE_SET, v2.text)
    assert two.version == 2 and two.id != one.id
    assert store.lookup(CHANGE_SET, v1.text).version == 1
    assert store.get_version(CHANGE_SET, "latest").id == two.id
    assert store.get_version(CHANGE_SET, 1).schema == v1.canonical
    assert json.loads(store.get_schema(two.id).schema) == v2.definition
    assert store.schema_versions(one.id) == [(CHANGE_SET, 1)]


def test_same_schema_in_two_subjects_shares_its_id(store: SchemaStore, catalog: Catalog) -> None:
    text = catalog.subject("mx.gob.sisi.hub.Receipt").latest.text
    a = store.register("mx.gob.sisi.hub.Receipt", text)
    b = store.register("acuses-copia", text)
    assert a.id == b.id
    assert store.schema_versions(a.id) == [("acuses-copia", 1), ("mx.gob.sisi.hub.Receipt", 1)]


def _incompatible(catalog: Catalog) -> str:
    v3 = copy.deepcopy(catalog.subject(CHANGE_SET).latest.definition)
    v3["fields"].append({"name": "lote", "type": "string", "doc": "Sin default."})
    return json.dumps(v3)


def test_incompatible_version_is_refused(store: SchemaStore, catalog: Catalog) -> None:
    seed_from_catalog(store, catalog)
    bad = _incompatible(catalog)
    problems = store.test_compatibility(CHANGE_SET, bad)
    assert {p.against for p in problems} == {1, 2}
    with pytest.raises(IncompatibleSchemaError, match="lote"):
        store.register(CHANGE_SET, bad)
    assert store.versions(CHANGE_SET) == [1, 2]
    # NONE lets it through: the mode decides, per subject.
    store.set_config("NONE", CHANGE_SET)
    assert store.register(CHANGE_SET, bad).version == 3


def test_not_found_and_invalid(store: SchemaStore, catalog: Catalog) -> None:
    seed_from_catalog(store, catalog)
    with pytest.raises(SubjectNotFoundError):
        store.versions("mx.gob.sisi.Nada")
    with pytest.raises(VersionNotFoundError):
        store.get_version(CHANGE_SET, 9)
    with pytest.raises(SchemaNotFoundError):
        store.get_schema(999)
    with pytest.raises(SchemaNotFoundError):
        store.lookup(CHANGE_SET, catalog.subject("mx.gob.sisi.hub.Receipt").latest.text)
    with pytest.raises(InvalidSchemaError):
        store.register("x", '{"type": "record"')
    with pytest.raises(InvalidSchemaError):
        store.register("x", '{"type": "record", "name": "X", "fields": [{"name": "a"}]}')
    with pytest.raises(InvalidCompatibilityError):
        store.set_config("CASI")


def test_config_global_and_per_subject(store: SchemaStore) -> None:
    assert store.get_config() is CompatibilityMode.BACKWARD_TRANSITIVE
    store.set_config("full")
    assert store.get_config("otro") is CompatibilityMode.FULL
    with pytest.raises(SubjectConfigNotFoundError):
        store.get_config("otro", fallback=False)
    with pytest.raises(SubjectNotFoundError):  # Confluent: 40401 for DELETE /config/{subject}
        store.delete_config("otro")
    store.set_config("NONE", "otro")
    assert store.get_config("otro") is CompatibilityMode.NONE
    assert store.delete_config("otro") is CompatibilityMode.NONE
    assert store.get_config("otro") is CompatibilityMode.FULL


def test_soft_then_permanent_delete(store: SchemaStore, catalog: Catalog) -> None:
    seed_from_catalog(store, catalog)
    with pytest.raises(SubjectNotSoftDeletedError):
        store.delete_subject(CHANGE_SET, permanent=True)
    with pytest.raises(VersionNotSoftDeletedError):
        store.delete_version(CHANGE_SET, 2, permanent=True)
    assert store.delete_version(CHANGE_SET, 2) == 2
    with pytest.raises(VersionSoftDeletedError):
        store.delete_version(CHANGE_SET, 2)
    assert store.versions(CHANGE_SET) == [1]
    assert store.versions(CHANGE_SET, deleted=True) == [1, 2]
    assert store.delete_subject(CHANGE_SET) == [1]
    assert CHANGE_SET not in store.subjects()
    assert CHANGE_SET in store.subjects(deleted=True)
    with pytest.raises(SubjectSoftDeletedError):
        store.delete_subject(CHANGE_SET)
    assert store.delete_subject(CHANGE_SET, permanent=True) == [1, 2]
    assert CHANGE_SET not in store.subjects(deleted=True)
    # the ids survive: a message written with them can still be read
    definition: Any = json.loads(store.get_schema(1).schema)
    assert definition["type"] == "record"


def test_migration_matches_the_models(store: SchemaStore) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from hub.db import Base

    with store.engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    ours = [diff for diff in diffs if "sr_" in repr(diff)]
    assert ours == []
