"""The REST API (Confluent subset): reads, operator-only writes, error bodies and codes."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from hub.contracts import Catalog, load_catalog
from hub.db import make_engine, migrate
from hub.schema_registry import CONTENT_TYPE, SchemaStore, create_app, seed_from_catalog
from hub.settings import REPO_ROOT

CHANGE_SET = "mx.gob.sisi.padron.ChangeSet"
TOKEN = "operador-secreto"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(REPO_ROOT / "avro_schemas")


@pytest.fixture
def store(tmp_path: Path, catalog: Catalog) -> Iterator[SchemaStore]:
    engine = make_engine(f"sqlite:///{tmp_path / 'sr.sqlite3'}")
    migrate(engine)
    store = SchemaStore(engine)
    seed_from_catalog(store, catalog)
    yield store
    engine.dispose()


@pytest.fixture
def client(store: SchemaStore) -> TestClient:
    return TestClient(create_app(store, TOKEN))


def bad_v3(catalog: Catalog) -> str:
    v3 = copy.deepcopy(catalog.subject(CHANGE_SET).latest.definition)
    v3["fields"][0]["type"] = "long"
    return json.dumps(v3)


def good_v3(catalog: Catalog) -> str:
    v3 = copy.deepcopy(catalog.subject(CHANGE_SET).latest.definition)
    v3["fields"].append(
        {"name": "lote", "type": ["null", "string"], "default": None, "doc": "Lote."}
    )
    return json.dumps(v3)


def test_reads(client: TestClient, catalog: Catalog) -> None:
    response = client.get("/subjects")
    assert response.headers["content-type"].startswith(CONTENT_TYPE)
    assert response.json() == sorted(catalog.names)
    assert client.get(f"/subjects/{CHANGE_SET}/versions").json() == [1, 2]
    latest = client.get(f"/subjects/{CHANGE_SET}/versions/latest").json()
    assert (latest["subject"], latest["version"]) == (CHANGE_SET, 2)
    raw = client.get(f"/subjects/{CHANGE_SET}/versions/1/schema").json()
    assert raw == catalog.subject(CHANGE_SET).versions[0].definition
    by_id = client.get(f"/schemas/ids/{latest['id']}").json()
    assert by_id["schema"] == latest["schema"]
    assert client.get(f"/schemas/ids/{latest['id']}/subjects").json() == [CHANGE_SET]
    assert client.get(f"/schemas/ids/{latest['id']}/versions").json() == [
        {"subject": CHANGE_SET, "version": 2}
    ]
    assert client.get("/config").json() == {"compatibilityLevel": "BACKWARD_TRANSITIVE"}
    assert client.get("/config/mx.gob.sisi.hub.Receipt").json() == {
        "compatibilityLevel": "FULL_TRANSITIVE"
    }
    looked = client.post(
        f"/subjects/{CHANGE_SET}",
        json={"schema": catalog.subject(CHANGE_SET).versions[0].text},
    ).json()
    assert looked["version"] == 1


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/subjects/nada/versions", 404, 40401),
        (f"/subjects/{CHANGE_SET}/versions/7", 404, 40402),
        (f"/subjects/{CHANGE_SET}/versions/uno", 422, 42202),
        ("/schemas/ids/9999", 404, 40403),
        ("/config/sin-config", 404, 40408),
        (f"/config/{CHANGE_SET}-copia", 404, 40408),
        ("/schemas/ids/abc", 404, 404),
        ("/no-existe", 404, 404),
    ],
)
def test_error_bodies(client: TestClient, path: str, status: int, code: int) -> None:
    response = client.get(path)
    assert response.status_code == status
    body = response.json()
    assert body["error_code"] == code
    assert isinstance(body["message"], str) and body["message"]


def test_lookup_of_an_unregistered_schema(client: TestClient, catalog: Catalog) -> None:
    response = client.post(f"/subjects/{CHANGE_SET}", json={"schema": good_v3(catalog)})
    assert (response.status_code, response.json()["error_code"]) == (404, 40403)
    assert "no registran esquemas" in response.json()["message"]


def test_writes_need_the_operator_token(client: TestClient, catalog: Catalog) -> None:
    body = {"schema": good_v3(catalog)}
    anonymous = client.post(f"/subjects/{CHANGE_SET}/versions", json=body)
    assert (anonymous.status_code, anonymous.json()["error_code"]) == (401, 40101)
    wrong = client.post(
        f"/subjects/{CHANGE_SET}/versions", json=body, headers={"Authorization": "Bearer x"}
    )
    assert wrong.status_code == 401
    assert client.put("/config", json={"compatibility": "NONE"}).status_code == 401
    assert client.delete(f"/subjects/{CHANGE_SET}").status_code == 401
    assert client.get(f"/subjects/{CHANGE_SET}/versions").json() == [1, 2]
    ok = client.post(f"/subjects/{CHANGE_SET}/versions", json=body, headers=AUTH)
    assert ok.status_code == 200
    assert client.get(f"/subjects/{CHANGE_SET}/versions").json() == [1, 2, 3]
    assert client.get(f"/subjects/{CHANGE_SET}/versions/3").json()["id"] == ok.json()["id"]


def test_without_a_configured_token_writes_are_forbidden(store: SchemaStore) -> None:
    client = TestClient(create_app(store, None))
    response = client.put("/config", json={"compatibility": "NONE"}, headers=AUTH)
    assert response.status_code == 403
    assert "SISI_REGISTRY_OPERATOR_TOKEN" in response.json()["message"]
    assert client.get("/config").json()["compatibilityLevel"] == "BACKWARD_TRANSITIVE"


def test_incompatible_registration_is_409(client: TestClient, catalog: Catalog) -> None:
    response = client.post(
        f"/subjects/{CHANGE_SET}/versions", json={"schema": bad_v3(catalog)}, headers=AUTH
    )
    assert (response.status_code, response.json()["error_code"]) == (409, 409)
    assert "no es compatible" in response.json()["message"]
    assert client.get(f"/subjects/{CHANGE_SET}/versions").json() == [1, 2]


def test_compatibility_endpoint(client: TestClient, catalog: Catalog) -> None:
    url = f"/compatibility/subjects/{CHANGE_SET}/versions"
    bad = client.post(url + "/latest?verbose=true", json={"schema": bad_v3(catalog)}).json()
    assert bad["is_compatible"] is False
    assert any("v2" in message for message in bad["messages"])
    good = client.post(url, json={"schema": good_v3(catalog)}).json()
    assert good == {"is_compatible": True}


def test_invalid_schema_and_other_types(client: TestClient) -> None:
    url = f"/subjects/{CHANGE_SET}/versions"
    invalid = client.post(url, json={"schema": '{"type": "nada"}'}, headers=AUTH)
    assert (invalid.status_code, invalid.json()["error_code"]) == (422, 42201)
    proto = client.post(
        url, json={"schema": "syntax = 'proto3';", "schemaType": "PROTOBUF"}, headers=AUTH
    )
    assert proto.json()["error_code"] == 42201
    level = client.put("/config", json={"compatibility": "CASI"}, headers=AUTH)
    assert (level.status_code, level.json()["error_code"]) == (422, 42203)


def test_config_and_soft_delete(client: TestClient) -> None:
    assert client.put(
        f"/config/{CHANGE_SET}", json={"compatibility": "full"}, headers=AUTH
    ).json() == {"compatibility": "FULL"}
    assert client.get(f"/config/{CHANGE_SET}").json() == {"compatibilityLevel": "FULL"}
    assert client.delete(f"/subjects/{CHANGE_SET}/versions/2", headers=AUTH).json() == 2
    assert client.get(f"/subjects/{CHANGE_SET}/versions").json() == [1]
    assert client.get(f"/subjects/{CHANGE_SET}/versions?deleted=true").json() == [1, 2]
    early = client.delete(f"/subjects/{CHANGE_SET}?permanent=true", headers=AUTH)
    assert early.json()["error_code"] == 40405
    assert client.delete(f"/subjects/{CHANGE_SET}", headers=AUTH).json() == [1]
    assert CHANGE_SET not in client.get("/subjects").json()


def test_delete_error_codes_follow_confluent(client: TestClient) -> None:
    def code(path: str) -> int:
        response = client.delete(path, headers=AUTH)
        assert response.status_code == 404
        body = response.json()
        assert isinstance(body["message"], str) and body["message"]
        return int(body["error_code"])

    version = f"/subjects/{CHANGE_SET}/versions/2"
    assert code(version + "?permanent=true") == 40407
    assert client.delete(version, headers=AUTH).json() == 2
    assert code(version) == 40406
    assert client.delete(version + "?permanent=true", headers=AUTH).json() == 2
    assert code(version) == 40402
    assert code(f"/subjects/{CHANGE_SET}?permanent=true") == 40405
    assert client.delete(f"/subjects/{CHANGE_SET}", headers=AUTH).json() == [1]
    assert code(f"/subjects/{CHANGE_SET}") == 40404
    assert code("/config/sin-config") == 40401
    assert code("/subjects/nada") == 40401


def test_config_without_a_subject_level(client: TestClient) -> None:
    missing = client.get("/config/nuevo")
    assert missing.json()["error_code"] == 40408
    assert "defaultToGlobal=true" in missing.json()["message"]
    assert client.get("/config/nuevo?defaultToGlobal=true").json() == {
        "compatibilityLevel": "BACKWARD_TRANSITIVE"
    }


def test_unknown_routes_and_methods_answer_json(client: TestClient) -> None:
    unknown = client.get("/schemas/ids/abc")
    assert unknown.headers["content-type"].startswith(CONTENT_TYPE)
    assert unknown.json()["error_code"] == 404
    assert "GET /schemas/ids/abc" in unknown.json()["message"]
    wrong = client.patch(f"/subjects/{CHANGE_SET}/versions", headers=AUTH)
    assert (wrong.status_code, wrong.json()["error_code"]) == (405, 405)
    assert "GET" in wrong.headers["allow"]
