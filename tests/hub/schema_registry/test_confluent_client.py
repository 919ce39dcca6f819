"""The real confluent-kafka client against the built-in registry on a free port."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext

from hub.contracts import Catalog, load_catalog, split
from hub.schema_registry import RunningRegistry, running_registry
from hub.settings import REPO_ROOT
from tests.hub.contracts import examples

try:
    from confluent_kafka.schema_registry import record_subject_name_strategy
except ImportError:  # older clients keep it in the serde module
    from confluent_kafka.schema_registry.avro import record_subject_name_strategy

TOKEN = "operador-secreto"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(REPO_ROOT / "avro_schemas")


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    db = tmp_path_factory.mktemp("registry") / "sr.sqlite3"
    with running_registry(database_url=f"sqlite:///{db}", operator_token=TOKEN) as running:
        yield running


def _serde(registry: RunningRegistry, schema_text: str) -> tuple[Any, Any]:
    client = SchemaRegistryClient({"url": registry.url})
    serializer = AvroSerializer(
        client,
        schema_text,
        conf={
            "auto.register.schemas": False,
            "subject.name.strategy": record_subject_name_strategy,
        },
    )
    return serializer, AvroDeserializer(client)


@pytest.mark.parametrize(
    ("subject", "factory"),
    [
        ("mx.gob.sisi.padron.ChangeSet", examples.change_set),
        ("mx.gob.sisi.hub.Receipt", examples.receipt),
    ],
)
def test_round_trip(
    registry: RunningRegistry, catalog: Catalog, subject: str, factory: Any
) -> None:
    version = catalog.subject(subject).latest
    serializer, deserializer = _serde(registry, version.text)
    ctx = SerializationContext("sisi.agreement.bienestar-pam-2025.changesets", MessageField.VALUE)
    record = factory()
    value = serializer(record, ctx)
    schema_id, _ = split(value)
    assert schema_id == registry.store.get_version(subject, "latest").id
    decoded = deserializer(value, ctx)
    expected = copy.deepcopy(record)
    if subject.endswith("ChangeSet"):
        expected["items"][0]["benefit"]["periodicidad"] = None
        expected["items"][0]["geography"]["ageb"] = None
    assert decoded == expected


def test_older_version_still_serializes_and_reads(
    registry: RunningRegistry, catalog: Catalog
) -> None:
    v1 = catalog.subject("mx.gob.sisi.padron.ChangeSet").versions[0]
    serializer, deserializer = _serde(registry, v1.text)
    ctx = SerializationContext("t", MessageField.VALUE)
    value = serializer(examples.change_set(), ctx)
    assert split(value)[0] == registry.store.get_version("mx.gob.sisi.padron.ChangeSet", 1).id
    assert deserializer(value, ctx) == examples.change_set()


def test_unregistered_schema_is_not_auto_registered(
    registry: RunningRegistry, catalog: Catalog
) -> None:
    v3 = copy.deepcopy(catalog.subject("mx.gob.sisi.hub.Receipt").latest.definition)
    v3["fields"].append({"name": "nota", "type": ["null", "string"], "default": None, "doc": "N."})
    serializer, _ = _serde(registry, json.dumps(v3))
    with pytest.raises(SchemaRegistryError) as caught:
        serializer(examples.receipt(), SerializationContext("t", MessageField.VALUE))
    assert caught.value.http_status_code == 404
    assert registry.store.versions("mx.gob.sisi.hub.Receipt") == [1]


def test_client_registration_needs_the_token(registry: RunningRegistry, catalog: Catalog) -> None:
    subject = "mx.gob.sisi.hub.Receipt"
    v2 = copy.deepcopy(catalog.subject(subject).latest.definition)
    v2["fields"][0]["type"] = "long"  # incompatible
    anonymous = SchemaRegistryClient({"url": registry.url})
    with pytest.raises(SchemaRegistryError) as caught:
        anonymous.register_schema(subject, Schema(json.dumps(v2), "AVRO"))
    assert caught.value.http_status_code == 401
    operator = SchemaRegistryClient(
        {
            "url": registry.url,
            "bearer.auth.credentials.source": "STATIC_TOKEN",
            "bearer.auth.token": TOKEN,
            "bearer.auth.logical.cluster": "sisi",
            "bearer.auth.identity.pool.id": "sisi",
        }
    )
    with pytest.raises(SchemaRegistryError) as refused:
        operator.register_schema(subject, Schema(json.dumps(v2), "AVRO"))
    assert refused.value.http_status_code == 409
    assert operator.get_compatibility(subject) == "FULL_TRANSITIVE"
    assert not operator.test_compatibility(subject, Schema(json.dumps(v2), "AVRO"))


def _operator(registry: RunningRegistry) -> SchemaRegistryClient:
    return SchemaRegistryClient(
        {
            "url": registry.url,
            "bearer.auth.credentials.source": "STATIC_TOKEN",
            "bearer.auth.token": TOKEN,
            "bearer.auth.logical.cluster": "sisi",
            "bearer.auth.identity.pool.id": "sisi",
        }
    )


def test_delete_and_config_error_codes_as_the_client_sees_them(registry: RunningRegistry) -> None:
    subject = "mx.gob.sisi.prueba.Borrados"
    operator = _operator(registry)

    def error_code(call: Any) -> int:
        with pytest.raises(SchemaRegistryError) as caught:
            call()
        assert caught.value.http_status_code == 404 and caught.value.error_message
        return int(caught.value.error_code)

    fields: list[dict[str, Any]] = [{"name": "a", "type": "string"}]
    record = {"type": "record", "name": "Borrados", "namespace": "mx.gob.sisi.prueba"}
    v1 = Schema(json.dumps({**record, "fields": fields}), "AVRO")
    extra = {"name": "b", "type": ["null", "int"], "default": None}
    v2 = Schema(json.dumps({**record, "fields": [*fields, extra]}), "AVRO")
    operator.register_schema(subject, v1)
    operator.register_schema(subject, v2)
    assert error_code(lambda: operator.get_config(subject)) == 40408
    assert error_code(lambda: operator.delete_version(subject, 1, permanent=True)) == 40407
    assert operator.delete_version(subject, 1) == 1
    assert error_code(lambda: operator.delete_version(subject, 1)) == 40406
    assert operator.delete_version(subject, 1, permanent=True) == 1
    assert error_code(lambda: operator.delete_subject(subject, permanent=True)) == 40405
    assert operator.delete_subject(subject) == [2]
    assert error_code(lambda: operator.delete_subject(subject)) == 40404
    assert operator.delete_subject(subject, permanent=True) == [2]
    assert error_code(lambda: operator.get_versions(subject)) == 40401
