"""Agreement reloads on a running pipeline (SQLite and PostgreSQL): one broken file never freezes
the others, a same-size edit with its mtime kept is seen, the audit entry says what changed and
records the bytes that judged messages, and compatibility-mode changes are audited."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from hub.agreements.loader import AgreementSet
from hub.audit import AuditEntry, iter_entries, verify_chain
from hub.gatekeeper.inspector import Gatekeeper
from hub.schema_registry.store import SchemaStore
from hub.worker import KafkaMessage, Outcome
from hub.worker.changes import (
    ALTA,
    BAJA,
    MODIFICACION,
    record_agreement_changes,
    record_at_start,
    watch_changes,
)
from tests.hub.gatekeeper.changesets import PAM, SUBJECT, change_set, item, sealed, topic_of
from tests.hub.gatekeeper.fixtures import TODAY, Hub

PAM_FILE = "bienestar-pam.yaml"
LEON_FILE = "leon-jefas-familia.yaml"
LEON = "CONV-LEON-JEFAS-2026"


@pytest.fixture
def live(hub: Hub) -> Hub:
    old = hub.pipeline.gatekeeper
    hub.pipeline.gatekeeper = Gatekeeper(
        old.agreements, old.schemas, old.catalog, today=TODAY, reload_interval=0.0
    )
    record_at_start(hub.pipeline.engine, hub.pipeline.audit, hub.pipeline.gatekeeper.agreements)
    return hub


_offsets = iter(range(1_000_000))


def _send(hub: Hub, n: int) -> Outcome:
    value, headers = sealed(hub.engine, change_set(PAM, [item(n)]))
    return hub.pipeline.process(KafkaMessage(topic_of(PAM), 0, next(_offsets), value, headers))


def _path(hub: Hub, name: str) -> Path:
    return Path(hub.settings.agreements_dir) / name


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def _changes(hub: Hub, agreement_id: str = PAM) -> list[AuditEntry]:
    return [
        e
        for e in iter_entries(hub.engine)
        if e.action == "AGREEMENT_CHANGED" and e.agreement_id == agreement_id
    ]


def _intact(hub: Hub) -> None:
    audit = hub.pipeline.audit
    report = verify_chain(iter_entries(hub.engine), audit.public_key, expected_head=audit.head())
    assert report.ok, report.render()


def test_a_broken_file_does_not_freeze_the_others(live: Hub) -> None:
    hub = live
    leon = _path(hub, LEON_FILE)
    leon_before = len(_changes(hub, LEON))
    leon.write_text(leon.read_text(encoding="utf-8") + "\nnot: [closed\n", encoding="utf-8")
    _replace(_path(hub, PAM_FILE), "status: vigente", "status: suspendido")

    refused = _send(hub, 1)

    assert refused.reason_code == "CONVENIO_NO_VIGENTE"  # PAM's suspension applied
    last = _changes(hub)[-1]
    assert last.details["change"] == MODIFICACION and last.details["status"] == "suspendido"
    assert last.details["changed_terms"] == "status"
    assert len(_changes(hub, LEON)) == leon_before  # LEON's last good version: no entry
    assert LEON in hub.pipeline.gatekeeper.agreements

    _replace(_path(hub, PAM_FILE), "status: suspendido", "status: vigente")
    assert _send(hub, 2).status == "ACCEPTED"
    _intact(hub)


def test_a_same_size_edit_with_its_mtime_kept_applies(live: Hub) -> None:
    """cp -p / tar: same size, same mtime, other bytes."""
    hub = live
    path = _path(hub, PAM_FILE)
    stat = path.stat()
    _replace(path, "valid_until: 2030-12-31", "valid_until: 2026-06-01")  # same length
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)

    assert _send(hub, 1).reason_code == "CONVENIO_NO_VIGENTE"
    last = _changes(hub)[-1]
    assert last.details["valid_until"] == "2026-06-01"
    assert last.details["changed_terms"] == "valid_until"


def test_the_entry_names_the_terms_and_the_bytes_that_judged(live: Hub) -> None:
    hub = live
    pipeline = hub.pipeline
    (alta,) = _changes(hub)
    assert alta.details["change"] == ALTA
    for term in ("key_id", "public_key", "programs", "contracts", "scope_fields"):
        assert alta.details[term], term
    assert alta.details["programs"] == "S176"
    assert alta.details["contracts"] == f"{SUBJECT}:1,2"
    assert "curp" in alta.details["scope_fields"].split(",")
    assert alta.details["sensitive_fields"] == ""
    # every key the agreement accepts, with its window (the single form: unbounded)
    assert alta.details["signing_keys"] == f"{alta.details['key_id']}[..]"

    path = _path(hub, PAM_FILE)
    original = path.read_bytes()
    _replace(path, "status: vigente", "status: suspendido")
    suspended = hashlib.sha256(path.read_bytes()).hexdigest()
    assert pipeline.gatekeeper.refresh() is True  # the gatekeeper judges by 'suspendido'...
    path.write_bytes(original)  # ...and the operator reverts before the audit write
    (entry,) = record_agreement_changes(
        pipeline.engine, pipeline.audit, pipeline.gatekeeper.agreements
    )
    assert entry.details["status"] == "suspendido" and entry.details["sha256"] == suspended

    (back,) = watch_changes(pipeline.engine, pipeline.audit, pipeline.gatekeeper)
    assert back.details["status"] == "vigente"
    assert back.details["sha256"] == hashlib.sha256(original).hexdigest()
    _intact(hub)


def test_a_file_broken_at_start_is_a_baja_with_its_reason_then_an_alta(live: Hub) -> None:
    hub = live
    pipeline = hub.pipeline
    leon = _path(hub, LEON_FILE)
    leon.write_text("id: [sin cerrar\n", encoding="utf-8")
    copy = leon.parent.parent / "reinicio"  # a directory this process never loaded: a fresh start
    shutil.copytree(leon.parent, copy)
    restarted = AgreementSet(copy)
    assert LEON not in restarted and len(restarted) >= 1
    (baja,) = [
        e
        for e in record_at_start(pipeline.engine, pipeline.audit, restarted)
        if e.agreement_id == LEON
    ]
    assert baja.details["change"] == BAJA and "errores" in baja.details["reason"]
    _intact(hub)


def test_compatibility_mode_changes_are_audited_once_each(live: Hub) -> None:
    hub = live
    pipeline = hub.pipeline
    store = SchemaStore(hub.engine)
    before = store.get_config(SUBJECT)

    def config_entries() -> list[AuditEntry]:
        return [e for e in iter_entries(hub.engine) if e.action == "CONTRACT_CONFIG_CHANGED"]

    seeded = {e.details["subject"]: e.details["compatibility"] for e in config_entries()}
    assert seeded.get(SUBJECT) == before.value  # the seeded mode, recorded at start

    store.set_config("NONE", SUBJECT)  # what PUT /config/{subject} does
    (changed,) = watch_changes(pipeline.engine, pipeline.audit, pipeline.gatekeeper)
    assert changed.action == "CONTRACT_CONFIG_CHANGED"
    assert dict(changed.details) == {
        "subject": SUBJECT,
        "previous_compatibility": before.value,
        "compatibility": "NONE",
    }
    assert watch_changes(pipeline.engine, pipeline.audit, pipeline.gatekeeper) == []

    store.delete_config(SUBJECT)  # DELETE /config/{subject}: it follows the global mode
    (removed,) = watch_changes(pipeline.engine, pipeline.audit, pipeline.gatekeeper)
    assert removed.details["previous_compatibility"] == "NONE"
    assert removed.details["compatibility"] == "(global)"

    store.set_config(before.value, SUBJECT)  # back to the first mode: recorded again
    (back,) = watch_changes(pipeline.engine, pipeline.audit, pipeline.gatekeeper)
    assert back.details["compatibility"] == before.value
    assert watch_changes(pipeline.engine, pipeline.audit, pipeline.gatekeeper) == []
    assert len(config_entries()) == len(seeded) + 3
    _intact(hub)
