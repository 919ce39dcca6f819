"""A version number is never given to a second schema, even after a permanent delete.

Confluent's registry computes the next version from the keys it still holds, so a hard delete of
a subject's latest version lets the next registration take that number again (see
``KafkaSchemaRegistry.register``: ``newVersion = max(version) + 1`` over the stored keys, soft-
deleted ones included, hard-deleted ones gone). Agreements cite version numbers, so ours keeps
each subject's highest number (``sr_version_counters``, migration 0008) and never reuses one.
Through the REST API, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import insert, select
from starlette.testclient import TestClient

import hub.audit.store  # noqa: F401  (the audit_log table in Base.metadata)
from hub.contracts import Catalog
from hub.db import Base, make_engine, migrate
from hub.schema_registry import SchemaStore, create_app, seed_from_catalog


def table_of(name: str) -> Any:
    return Base.metadata.tables[name]


CHANGE_SET = "mx.gob.sisi.padron.ChangeSet"
TOKEN = "operador-secreto"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def client(store: SchemaStore, catalog: Catalog) -> Iterator[TestClient]:
    seed_from_catalog(store, catalog)
    with TestClient(create_app(store, TOKEN)) as client:
        yield client


def _with_field(catalog: Catalog, name: str) -> str:
    definition = copy.deepcopy(catalog.subject(CHANGE_SET).latest.definition)
    definition["fields"].append({"name": name, "type": ["null", "string"], "default": None})
    return json.dumps(definition)


def _register(client: TestClient, subject: str, schema: str) -> int:
    response = client.post(f"/subjects/{subject}/versions", json={"schema": schema}, headers=AUTH)
    assert response.status_code == 200, response.text
    found = client.post(f"/subjects/{subject}", json={"schema": schema})
    assert found.status_code == 200, found.text
    assert found.json()["id"] == response.json()["id"]
    return int(found.json()["version"])


def _hard_delete(client: TestClient, path: str) -> None:
    assert client.delete(path, headers=AUTH).status_code == 200
    assert client.delete(path + "?permanent=true", headers=AUTH).status_code == 200


def test_the_latest_version_deleted_for_good_keeps_its_number(
    client: TestClient, catalog: Catalog
) -> None:
    _hard_delete(client, f"/subjects/{CHANGE_SET}/versions/2")
    assert client.get(f"/subjects/{CHANGE_SET}/versions?deleted=true").json() == [1]
    assert _register(client, CHANGE_SET, _with_field(catalog, "lote")) == 3
    assert client.get(f"/subjects/{CHANGE_SET}/versions/2").json()["error_code"] == 40402
    _hard_delete(client, f"/subjects/{CHANGE_SET}/versions/latest")
    assert _register(client, CHANGE_SET, _with_field(catalog, "canal")) == 4
    assert client.get(f"/subjects/{CHANGE_SET}/versions").json() == [1, 4]


def test_a_subject_deleted_for_good_goes_on_from_its_last_number(
    client: TestClient, catalog: Catalog
) -> None:
    assert client.delete(f"/subjects/{CHANGE_SET}", headers=AUTH).json() == [1, 2]
    assert client.delete(f"/subjects/{CHANGE_SET}?permanent=true", headers=AUTH).json() == [1, 2]
    assert client.get(f"/subjects/{CHANGE_SET}/versions").json()["error_code"] == 40401
    first = catalog.subject(CHANGE_SET).versions[0].text
    assert _register(client, CHANGE_SET, first) == 3  # the same schema: a new number too
    assert client.get(f"/subjects/{CHANGE_SET}/versions").json() == [3]


def test_a_new_subject_starts_at_one_and_counts_every_number(client: TestClient) -> None:
    schema = json.dumps(
        {"type": "record", "name": "Nota", "fields": [{"name": "x", "type": "int"}]}
    )
    assert _register(client, "notas", schema) == 1
    _hard_delete(client, "/subjects/notas/versions/1")
    assert _register(client, "notas", schema) == 2


def _row(table: str, **values: object) -> Any:
    return insert(table_of(table)).values(**values)


def test_the_migration_counts_from_the_rows_and_from_the_audit_log(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate(engine, "0007")  # before the counters: rows and audit entries as they were
        at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        with engine.begin() as conn:
            schema_id = conn.execute(
                _row(
                    "sr_schemas",
                    fingerprint="a" * 64,
                    schema_type="AVRO",
                    canonical='"int"',
                    created_at=at,
                )
            ).inserted_primary_key[0]
            for version in (1, 3):  # v2 and v4 deleted for good; v4 only the audit log knows
                conn.execute(
                    _row(
                        "sr_subject_versions",
                        subject="notas",
                        version=version,
                        schema_id=schema_id,
                        deleted=False,
                        created_at=at,
                    )
                )
            for sequence, (subject, version) in enumerate((("notas", 4), ("otro", 5)), 1):
                details = {"subject": subject, "version": str(version), "sha256": "f"}
                conn.execute(
                    _row(
                        "audit_log",
                        sequence=sequence,
                        recorded_at=at,
                        actor="sisi-hub/contratos",
                        action="CONTRACT_REGISTERED",
                        details=json.dumps(details),
                        prev_hash=bytes(32),
                        entry_hash=bytes(32),
                    )
                )
        migrate(engine)
        with engine.connect() as conn:
            rows = conn.execute(select(table_of("sr_version_counters"))).all()
        assert {(row.subject, row.last_version) for row in rows} == {("notas", 4), ("otro", 5)}
        # "long" reads the stored "int": compatible with v1 and v3
        assert SchemaStore(engine).register("notas", '"long"').version == 5
    finally:
        engine.dispose()
