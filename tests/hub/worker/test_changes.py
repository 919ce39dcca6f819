"""Agreement and contract changes reach the audit log, and apply while the hub runs.

Pure decisions first (no database), then a running pipeline on SQLite and PostgreSQL: start-up
records each agreement and contract version once, an edited, removed or reverted agreement file
is recorded and applied from the next message without a restart, and a contract version
registered while the hub runs is recorded and accepted.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hub.agreements.loader import AgreementSet
from hub.audit import AuditEntry, AuditLog, iter_entries, load_or_create_hub_key, verify_chain
from hub.audit.store import audit_log
from hub.db import make_engine
from hub.gatekeeper.inspector import Gatekeeper
from hub.registry.models import Program
from hub.schema_registry.store import SchemaStore
from hub.worker import KafkaMessage, Outcome
from hub.worker.changes import (
    AGREEMENTS_ACTOR,
    ALTA,
    BAJA,
    CONTRACTS_ACTOR,
    DEFINITIVA,
    LOGICA,
    MODIFICACION,
    AgreementFile,
    ContractVersion,
    LastChange,
    agreement_events,
    contract_deletion_key,
    contract_events,
    contract_key,
    last_changes,
    record_at_start,
    watch_changes,
)
from tests.hub.gatekeeper.changesets import PAM, SUBJECT, change_set, item, sealed, topic_of
from tests.hub.gatekeeper.fixtures import TODAY, Hub

PAM_FILE = "bienestar-pam.yaml"

# -- pure decisions ----------------------------------------------------------------------------


def _file(agreement_id: str, digest: str) -> AgreementFile:
    return AgreementFile(agreement_id, f"{agreement_id.lower()}.yaml", digest, "vigente", "a", "b")


def test_first_look_is_an_alta_per_agreement_and_the_same_content_adds_nothing() -> None:
    current = {"A": _file("A", "d1"), "B": _file("B", "d2")}
    events = agreement_events(current, {})
    assert [(e.agreement_id, e.details["change"]) for e in events] == [("A", ALTA), ("B", ALTA)]
    assert all(e.actor == AGREEMENTS_ACTOR for e in events)
    assert events[0].details["file"] == "a.yaml" and events[0].details["sha256"] == "d1"
    seen = {"A": LastChange(3, ALTA, "a.yaml", "d1"), "B": LastChange(4, ALTA, "b.yaml", "d2")}
    assert agreement_events(current, seen) == []


def test_modification_removal_and_return_each_get_their_own_key() -> None:
    history = {"A": LastChange(3, ALTA, "a.yaml", "d1")}
    (changed,) = agreement_events({"A": _file("A", "d2")}, history)
    assert changed.details["change"] == MODIFICACION
    assert changed.details["previous_sha256"] == "d1"
    (removed,) = agreement_events({}, history)
    assert removed.details == {"change": BAJA, "file": "a.yaml", "sha256": "d1"}
    assert agreement_events({}, {"A": LastChange(5, BAJA, "a.yaml", "d1")}) == []
    (back,) = agreement_events({"A": _file("A", "d1")}, {"A": LastChange(5, BAJA, "a.yaml", "d1")})
    assert back.details["change"] == ALTA
    # a reverted edit (d1 -> d2 -> d1) is a change too: the key names the entry it follows
    (reverted,) = agreement_events(
        {"A": _file("A", "d1")}, {"A": LastChange(9, MODIFICACION, "", "d2")}
    )
    keys = {e.idempotency_key for e in (changed, removed, back, reverted)}
    assert len(keys) == 4 and all(k and k.startswith("convenio:A:") for k in keys)


def test_last_changes_keeps_the_latest_entry_of_each_agreement() -> None:
    rows = [
        (7, "A", {"change": MODIFICACION, "file": "a.yaml", "sha256": "d2"}),
        (2, "A", {"change": ALTA, "file": "a.yaml", "sha256": "d1"}),
        (5, "B", {"change": ALTA, "file": "b.yaml", "sha256": "e1"}),
        (6, None, {"change": ALTA, "sha256": "x"}),  # not an agreement's entry
    ]
    assert last_changes(rows) == {
        "A": LastChange(7, MODIFICACION, "a.yaml", "d2"),
        "B": LastChange(5, ALTA, "b.yaml", "e1"),
    }


def test_contract_events_skip_logged_versions() -> None:
    at = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    v1 = ContractVersion(SUBJECT, 1, 4, "f1", at)
    v2 = ContractVersion(SUBJECT, 2, 9, "f2", None)
    (event,) = contract_events([v1, v2], {contract_key(v1)})
    assert event.actor == CONTRACTS_ACTOR and event.agreement_id is None
    assert event.details == {"subject": SUBJECT, "version": "2", "schema_id": "9", "sha256": "f2"}
    assert contract_events([v1], set())[0].details["registered_at"] == "2026-01-02T03:04:05.000Z"
    # the same number registered again with another schema (after a permanent delete) is new
    assert contract_key(ContractVersion(SUBJECT, 2, 10, "f3", None)) != contract_key(v2)


def test_contract_events_record_soft_and_permanent_deletions_once() -> None:
    v1 = ContractVersion(SUBJECT, 1, 4, "f1", None)
    v2 = ContractVersion(SUBJECT, 2, 9, "f2", None, deleted=True)
    gone = ContractVersion(SUBJECT, 3, 11, "f3", None)
    logged = {contract_key(v1), contract_key(gone)}
    events = contract_events([v1, v2], logged, recorded=[v1, gone, gone])
    assert [(e.action, e.details["version"], e.details.get("deletion")) for e in events] == [
        ("CONTRACT_REGISTERED", "2", None),  # never recorded: registered, then its deletion
        ("CONTRACT_DELETED", "2", LOGICA),
        ("CONTRACT_DELETED", "3", DEFINITIVA),  # recorded before, no longer in the tables
    ]
    assert events[1].details == {
        "subject": SUBJECT,
        "version": "2",
        "schema_id": "9",
        "sha256": "f2",
        "deletion": LOGICA,
    }
    logged |= {e.idempotency_key for e in events if e.idempotency_key}
    assert contract_events([v1, v2], logged, recorded=[v1, v2, gone]) == []
    assert contract_deletion_key(v2, LOGICA) != contract_deletion_key(v2, DEFINITIVA)


# -- a running pipeline ------------------------------------------------------------------------


@pytest.fixture
def live(hub: Hub) -> Hub:
    """The pipeline's gatekeeper looks at the agreements directory on every batch (no wait)."""
    old = hub.pipeline.gatekeeper
    hub.pipeline.gatekeeper = Gatekeeper(
        old.agreements, old.schemas, old.catalog, today=TODAY, reload_interval=0.0
    )
    return hub


def _changes(hub: Hub, action: str = "AGREEMENT_CHANGED") -> list[AuditEntry]:
    return [e for e in iter_entries(hub.engine) if e.action == action]


def _edit(hub: Hub, name: str, old: str, new: str) -> Path:
    path = Path(hub.settings.agreements_dir) / name
    before = path.stat().st_mtime_ns
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    if path.stat().st_mtime_ns == before:  # a coarse file-system clock: make the edit visible
        os.utime(path, ns=(before, before + 1_000_000_000))
    return path


_offsets = iter(range(1_000_000))


def _message(hub: Hub, n: int, *, version: int = 1) -> KafkaMessage:
    record = change_set(PAM, [item(n)])
    value, headers = sealed(hub.engine, record, version=version)
    return KafkaMessage(topic_of(PAM), 0, next(_offsets), value, tuple(headers))


def _send(hub: Hub, n: int, *, version: int = 1) -> Outcome:
    return hub.pipeline.process(_message(hub, n, version=version))


def _intact(hub: Hub) -> None:
    audit = hub.pipeline.audit
    report = verify_chain(iter_entries(hub.engine), audit.public_key, expected_head=audit.head())
    assert report.ok, report.render()


def _start(hub: Hub) -> list[AuditEntry]:
    pipeline = hub.pipeline
    return record_at_start(pipeline.engine, pipeline.audit, pipeline.gatekeeper.agreements)


def test_start_records_each_agreement_and_contract_version_once(hub: Hub) -> None:
    added = _start(hub)

    ids = AgreementSet(hub.settings.agreements_dir).ids
    altas = [e for e in added if e.action == "AGREEMENT_CHANGED"]
    assert sorted(e.agreement_id or "" for e in altas) == sorted(ids)
    assert {e.details["change"] for e in altas} == {ALTA}
    pam = next(e for e in altas if e.agreement_id == PAM)
    assert pam.actor == AGREEMENTS_ACTOR and pam.details["file"] == PAM_FILE
    assert pam.details["status"] == "vigente"
    assert len(pam.details["sha256"]) == 64
    store = SchemaStore(hub.engine)
    versions = {(s, v) for s in store.subjects() for v in store.versions(s)}
    contracts = [e for e in added if e.action == "CONTRACT_REGISTERED"]
    assert {(e.details["subject"], int(e.details["version"])) for e in contracts} == versions
    assert added.index(contracts[-1]) < added.index(altas[0])  # contracts before the agreements
    changeset_v2 = next(
        e for e in contracts if e.details["subject"] == SUBJECT and e.details["version"] == "2"
    )
    assert int(changeset_v2.details["schema_id"]) == store.get_version(SUBJECT, 2).id
    assert changeset_v2.details["registered_at"].endswith("Z")

    # a second start (another worker, or the same after a restart) adds nothing
    engine = make_engine(hub.engine.url.render_as_string(hide_password=False))
    try:
        again = AuditLog(engine, load_or_create_hub_key(hub.settings))
        assert record_at_start(engine, again, AgreementSet(hub.settings.agreements_dir)) == []
    finally:
        engine.dispose()
    assert _start(hub) == []
    _intact(hub)


def test_workers_starting_together_record_each_change_once(hub: Hub) -> None:
    url = hub.engine.url.render_as_string(hide_password=False)
    barrier = threading.Barrier(3)
    added: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        engine = make_engine(url)
        try:
            log = AuditLog(engine, load_or_create_hub_key(hub.settings))
            agreements = AgreementSet(hub.settings.agreements_dir)
            barrier.wait()
            added.append(len(record_at_start(engine, log, agreements)))
        except BaseException as exc:
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert len(_changes(hub)) == len(AgreementSet(hub.settings.agreements_dir))
    assert sum(added) == len(list(iter_entries(hub.engine)))
    _intact(hub)


def test_an_edited_agreement_applies_from_the_next_message_and_is_recorded(live: Hub) -> None:
    hub = live
    _start(hub)
    (alta,) = [e for e in _changes(hub) if e.agreement_id == PAM]
    assert _send(hub, 1).status == "ACCEPTED"

    _edit(hub, PAM_FILE, "status: vigente", "status: suspendido")
    suspended = _send(hub, 2)

    assert suspended.reason_code == "CONVENIO_NO_VIGENTE"
    assert suspended.verdict is not None and suspended.verdict.refusal is not None
    assert "suspendido" in suspended.verdict.refusal.message
    latest = _changes(hub)[-1]
    assert (latest.agreement_id, latest.details["change"]) == (PAM, MODIFICACION)
    assert latest.details["status"] == "suspendido"
    assert latest.details["previous_sha256"] == alta.details["sha256"] != latest.details["sha256"]
    refused = [e for e in iter_entries(hub.engine) if e.action == "CHANGESET_REJECTED"]
    assert latest.sequence < refused[-1].sequence  # recorded before the message judged by it

    # the edit reverted, then the validity cut short: each is a change, each applies at once
    _edit(hub, PAM_FILE, "status: suspendido", "status: vigente")
    assert _send(hub, 3).status == "ACCEPTED"
    reverted = _changes(hub)[-1]
    assert reverted.details["change"] == MODIFICACION
    assert reverted.details["sha256"] == alta.details["sha256"]
    _edit(hub, PAM_FILE, "valid_until: 2030-12-31", "valid_until: 2026-06-01")
    assert _send(hub, 4).reason_code == "CONVENIO_NO_VIGENTE"
    assert _changes(hub)[-1].details["valid_until"] == "2026-06-01"
    assert len([e for e in _changes(hub) if e.agreement_id == PAM]) == 4

    # more messages, another worker starting: nothing more to record
    assert _send(hub, 5).reason_code == "CONVENIO_NO_VIGENTE"
    assert _start(hub) == []
    assert len([e for e in _changes(hub) if e.agreement_id == PAM]) == 4
    _intact(hub)


def test_a_removed_agreement_gets_a_baja_and_is_refused(
    live: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    hub = live
    _start(hub)
    (Path(hub.settings.agreements_dir) / PAM_FILE).unlink()

    with caplog.at_level(logging.WARNING, logger="hub.worker.changes"):
        outcome = _send(hub, 1)
    # the operator's terminal (sisi up shows warnings) says it, as it says a new agreement
    [said] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert said.startswith(f"convenio {PAM}: baja ({PAM_FILE}) registrado en la bitácora")
    assert "cuarentena (CONVENIO_DADO_DE_BAJA)" in said

    assert outcome.reason_code == "CONVENIO_DESCONOCIDO"
    baja = _changes(hub)[-1]
    assert (baja.agreement_id, baja.details["change"], baja.details["file"]) == (
        PAM,
        BAJA,
        PAM_FILE,
    )
    assert _start(hub) == []  # a baja is recorded once
    _intact(hub)


def test_an_idle_worker_records_an_edit_on_its_timer(live: Hub) -> None:
    hub = live
    pipeline = hub.pipeline
    _start(hub)
    edited = _edit(hub, "edomex-mujeres-bienestar.yaml", "status: vigente", "status: terminado")

    added = watch_changes(pipeline.engine, pipeline.audit, pipeline.gatekeeper)

    assert [(e.agreement_id, e.details["change"], e.details["status"]) for e in added] == [
        ("CONV-EDOMEX-MCB-2026", MODIFICACION, "terminado")
    ]
    edited.unlink()
    (baja,) = watch_changes(pipeline.engine, pipeline.audit, pipeline.gatekeeper)
    assert baja.details["change"] == BAJA
    assert watch_changes(pipeline.engine, pipeline.audit, pipeline.gatekeeper) == []
    _intact(hub)


def test_a_broken_edit_is_neither_applied_nor_recorded(live: Hub) -> None:
    hub = live
    _start(hub)
    before = len(list(iter_entries(hub.engine)))
    _edit(hub, PAM_FILE, "status: vigente", "status: quizás")

    assert _send(hub, 1).status == "ACCEPTED"  # the previous agreement stays in force
    pipeline = hub.pipeline
    assert watch_changes(pipeline.engine, pipeline.audit, pipeline.gatekeeper) == []

    assert [e.action for e in list(iter_entries(hub.engine))[before:]] == ["ITEM_ACCEPTED"]


def _changeset_v3(hub: Hub) -> dict[str, Any]:
    """ChangeSet v2 plus an optional field: backward compatible with v1 and v2."""
    definition = json.loads(SchemaStore(hub.engine).get_version(SUBJECT, 2).schema)
    definition["fields"].append(
        {
            "name": "canal",
            "type": ["null", "string"],
            "default": None,
            "doc": "Canal por el que la dependencia envió la entrega.",
        }
    )
    return definition


def test_a_contract_version_registered_while_running_is_recorded_and_accepted(live: Hub) -> None:
    hub = live
    pipeline = hub.pipeline
    _start(hub)
    store = SchemaStore(hub.engine)
    registered = store.register(SUBJECT, json.dumps(_changeset_v3(hub)))  # as the REST API does
    assert registered.version == 3

    refused = _send(hub, 1, version=3)  # not yet in the agreement
    assert refused.reason_code == "ESQUEMA_NO_PERMITIDO"
    _edit(hub, PAM_FILE, "versions: [1, 2]", "versions: [1, 2, 3]")
    accepted = _send(hub, 2, version=3)
    assert accepted.status == "ACCEPTED"
    assert accepted.verdict is not None and accepted.verdict.version == 3

    (entry,) = watch_changes(pipeline.engine, pipeline.audit, pipeline.gatekeeper)
    assert entry.action == "CONTRACT_REGISTERED" and entry.actor == CONTRACTS_ACTOR
    assert entry.details["subject"] == SUBJECT and entry.details["version"] == "3"
    assert entry.details["schema_id"] == str(registered.id)
    assert watch_changes(pipeline.engine, pipeline.audit, pipeline.gatekeeper) == []
    with hub.engine.connect() as conn:
        keys = set(conn.execute(select(audit_log.c.idempotency_key)).scalars())
    assert f"contrato:{SUBJECT}:3:" + entry.details["sha256"] in keys
    _intact(hub)


def test_a_schema_registered_again_as_a_new_version_is_allowed_by_it(live: Hub) -> None:
    """The same schema text re-registered after a soft delete keeps its id under a new version."""
    hub = live
    store = SchemaStore(hub.engine)
    v2 = store.get_version(SUBJECT, 2)
    assert _send(hub, 1, version=2).status == "ACCEPTED"  # the id is resolved and remembered

    store.delete_version(SUBJECT, 2)
    again = store.register(SUBJECT, v2.schema)
    assert (again.version, again.id) == (3, v2.id)
    _edit(hub, PAM_FILE, "versions: [1, 2]", "versions: [1, 3]")

    outcome = _send(hub, 2, version=3)
    assert outcome.status == "ACCEPTED"
    assert outcome.verdict is not None and outcome.verdict.version == 3
    _start(hub)
    contracts = _changes(hub, "CONTRACT_REGISTERED")
    assert [e.details["schema_id"] for e in contracts if e.details["subject"] == SUBJECT][-2:] == [
        str(v2.id),
        str(v2.id),
    ]
    _intact(hub)


def test_a_deleted_contract_version_is_refused_without_a_restart_and_recorded(live: Hub) -> None:
    """Soft delete: refused after the worker's next look, recorded once; then the permanent one."""
    hub = live
    pipeline = hub.pipeline
    _start(hub)
    store = SchemaStore(hub.engine)
    assert _send(hub, 1, version=2).status == "ACCEPTED"  # the id's versions are now cached
    late = _message(hub, 2, version=2)  # written with v2 before its deletion, arrives after

    store.delete_version(SUBJECT, 2)
    (entry,) = watch_changes(pipeline.engine, pipeline.audit, pipeline.gatekeeper)
    assert entry.action == "CONTRACT_DELETED" and entry.actor == CONTRACTS_ACTOR
    assert entry.details["version"] == "2" and entry.details["deletion"] == LOGICA
    refused = pipeline.process(late)
    assert refused.reason_code == "ESQUEMA_NO_PERMITIDO"
    assert refused.verdict is not None and refused.verdict.refusal is not None
    assert "dada de baja" in refused.verdict.refusal.message
    assert _send(hub, 3, version=1).status == "ACCEPTED"  # the other version is untouched
    assert watch_changes(pipeline.engine, pipeline.audit, pipeline.gatekeeper) == []

    store.delete_version(SUBJECT, 2, permanent=True)
    (entry,) = watch_changes(pipeline.engine, pipeline.audit, pipeline.gatekeeper)
    assert entry.action == "CONTRACT_DELETED" and entry.details["deletion"] == DEFINITIVA
    assert _start(hub) == []  # a restart finds nothing new to record
    deleted = _changes(hub, "CONTRACT_DELETED")
    assert [e.details["deletion"] for e in deleted] == [LOGICA, DEFINITIVA]
    _intact(hub)


def test_start_fills_the_program_catalog_from_the_agreements(hub: Hub) -> None:
    _start(hub)
    pam = hub.pipeline.gatekeeper.agreements.get(PAM)
    with hub.engine.connect() as conn:
        rows = dict(conn.execute(select(Program.key, Program.name)).all())
    assert rows[pam.programs[0].key] == pam.programs[0].name != pam.programs[0].key
