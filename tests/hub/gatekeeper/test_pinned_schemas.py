"""An agreement allows the exact schema each contract version had when the hub audited it.

The gap: a contract version deleted permanently (``DELETE /subjects/S/versions/N?permanent=
true``) and a different schema registered after it. If the registry gave the new schema the
number N again, an agency's messages under it passed as "version N", which the agreement's
signatories never saw. Now the registry never reuses a number, and the gatekeeper compares the
message's schema with the one the audit log first recorded for the version (its
``CONTRACT_REGISTERED`` entry): a different one is refused as ``ESQUEMA_NO_CONVENIDO``.

Through the registry's REST API and the real pipeline, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import update
from starlette.testclient import TestClient

from hub.audit import iter_entries
from hub.quarantine import list_items
from hub.schema_registry import SchemaStore, create_app
from hub.schema_registry.tables import SubjectVersion
from hub.worker import KafkaMessage, Outcome
from hub.worker.changes import record_at_start, record_contract_changes
from tests.hub.gatekeeper.changesets import PAM, SUBJECT, change_set, item, sealed, topic_of
from tests.hub.gatekeeper.fixtures import Hub

TOKEN = "operador-secreto"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
_offsets = iter(range(1_000_000))


@pytest.fixture
def rest(hub: Hub) -> Iterator[TestClient]:
    """The hub's own Schema Registry REST API on the pipeline's database."""
    with TestClient(create_app(SchemaStore(hub.engine), TOKEN)) as client:
        yield client


def _other_v2(hub: Hub) -> str:
    """ChangeSet v2 plus an optional field: another schema, compatible with v1."""
    definition: dict[str, Any] = json.loads(SchemaStore(hub.engine).get_version(SUBJECT, 2).schema)
    definition["fields"].append(
        {"name": "lote", "type": ["null", "string"], "default": None, "doc": "Lote."}
    )
    return json.dumps(definition)


def _send(hub: Hub, n: int, *, version: int) -> Outcome:
    record = change_set(PAM, [item(n)])
    value, headers = sealed(hub.engine, record, version=version)
    message = KafkaMessage(topic_of(PAM), 0, next(_offsets), value, tuple(headers))
    return hub.pipeline.process(message)


def _replace_v2(hub: Hub, rest: TestClient) -> dict[str, Any]:
    """The operator's hard delete of ChangeSet v2 and a different schema registered after it."""
    other = _other_v2(hub)
    path = f"/subjects/{SUBJECT}/versions/2"
    assert rest.delete(path, headers=AUTH).json() == 2
    assert rest.delete(path + "?permanent=true", headers=AUTH).json() == 2
    response = rest.post(f"/subjects/{SUBJECT}/versions", json={"schema": other}, headers=AUTH)
    assert response.status_code == 200, response.text
    registered: dict[str, Any] = rest.get(f"/schemas/ids/{response.json()['id']}/versions").json()[
        0
    ]
    return registered


def test_a_number_freed_by_a_permanent_delete_is_never_given_to_another_schema(
    hub: Hub, rest: TestClient
) -> None:
    record_at_start(hub.engine, hub.pipeline.audit, hub.pipeline.gatekeeper.agreements)
    assert _send(hub, 1, version=2).status == "ACCEPTED"

    new = _replace_v2(hub, rest)
    assert new == {"subject": SUBJECT, "version": 3}  # not 2 again
    assert rest.get(f"/subjects/{SUBJECT}/versions/2").json()["error_code"] == 40402

    refused = _send(hub, 2, version=3)  # PAM allows versions 1 and 2 only
    assert refused.reason_code == "ESQUEMA_NO_PERMITIDO"
    assert _send(hub, 3, version=1).status == "ACCEPTED"


def _reuse_number(hub: Hub, old: int, new: int) -> None:
    """What a registry that reused numbers left (ours before this fix, Confluent's after a hard
    delete of the latest version): the new schema's row carries the freed number."""
    with hub.engine.begin() as conn:
        conn.execute(
            update(SubjectVersion)
            .where(SubjectVersion.subject == SUBJECT, SubjectVersion.version == new)
            .values(version=old)
        )


def test_a_reused_number_with_another_schema_is_refused_with_what_changed(
    hub: Hub, rest: TestClient
) -> None:
    record_at_start(hub.engine, hub.pipeline.audit, hub.pipeline.gatekeeper.agreements)
    pinned = next(
        e.details["sha256"]
        for e in iter_entries(hub.engine)
        if e.action == "CONTRACT_REGISTERED"
        and e.details["subject"] == SUBJECT
        and e.details["version"] == "2"
    )
    assert _send(hub, 1, version=2).status == "ACCEPTED"

    _replace_v2(hub, rest)
    _reuse_number(hub, old=2, new=3)
    now = SchemaStore(hub.engine).get_version(SUBJECT, 2)
    assert now.version == 2  # the registry says v2 is the new schema
    record_contract_changes(hub.engine, hub.pipeline.audit, hub.pipeline.schemas)  # logged too

    refused = _send(hub, 2, version=2)
    assert refused.status == "REJECTED"
    assert refused.reason_code == "ESQUEMA_NO_CONVENIDO"
    assert refused.verdict is not None and refused.verdict.refusal is not None
    text = refused.verdict.refusal.message
    assert f"{SUBJECT} v2" in text
    assert pinned in text  # expected
    found = next(
        e.details["sha256"]
        for e in iter_entries(hub.engine)
        if e.action == "CONTRACT_REGISTERED" and e.details["schema_id"] == str(now.id)
    )
    assert found != pinned and found in text
    assert "versión nueva" in text and "convenio" in text
    (quarantined,) = [q for q in list_items(hub.engine) if q.reason_code == "ESQUEMA_NO_CONVENIDO"]
    assert quarantined.message == text
    # the version the agreement allows, with its audited schema, still gets in
    assert _send(hub, 3, version=1).status == "ACCEPTED"


def test_a_reused_number_is_refused_even_before_the_hub_looked_at_the_registry_again(
    hub: Hub, rest: TestClient
) -> None:
    """The pin comes from the audit log, not from what the registry says now."""
    record_at_start(hub.engine, hub.pipeline.audit, hub.pipeline.gatekeeper.agreements)
    _replace_v2(hub, rest)
    _reuse_number(hub, old=2, new=3)
    refused = _send(hub, 1, version=2)
    assert refused.reason_code == "ESQUEMA_NO_CONVENIDO"


def test_a_version_the_hub_has_not_audited_yet_is_pinned_when_it_is(
    hub: Hub, rest: TestClient
) -> None:
    """A version registered while the hub runs is usable at once (its number never named another
    schema); once audited, its schema is the one pinned."""
    assert _send(hub, 1, version=2).status == "ACCEPTED"  # nothing audited yet
    record_at_start(hub.engine, hub.pipeline.audit, hub.pipeline.gatekeeper.agreements)
    assert _send(hub, 2, version=2).status == "ACCEPTED"
    _replace_v2(hub, rest)
    _reuse_number(hub, old=2, new=3)
    assert _send(hub, 3, version=2).reason_code == "ESQUEMA_NO_CONVENIDO"
