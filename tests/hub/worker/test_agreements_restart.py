"""Agreements across a worker restart: removed padrón agreements stay consumed, and a broken
file keeps its last good version (stored by the hub) in every new process.

A new process is simulated by emptying the loader's in-process memory of good versions and
building new sets and pipelines on the same database; ``test_agreements_restart_process.py``
does the same with a real ``sisi hub`` and the real broker.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select, update

from hub.agreements import loader
from hub.agreements.loader import AgreementSet
from hub.audit.chain import Action, AuditEvent
from hub.audit.store import iter_entries
from hub.worker import KafkaMessage, RecordingPublisher, build_pipeline
from hub.worker.changes import AGREEMENTS_ACTOR, record_agreement_changes
from hub.worker.removed import removed_topics
from hub.worker.versions import StoredVersions, agreement_versions
from tests.hub.gatekeeper.changesets import BECAS, PAM, change_set, item, sealed, topic_of
from tests.hub.gatekeeper.fixtures import TODAY, Hub

PAM_FILE = "bienestar-pam.yaml"
CUIS = "CONV-BIENESTAR-CUIS-2026"
CUIS_FILE = "bienestar-cuis.yaml"


@pytest.fixture(autouse=True)
def _no_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each set built in a test starts like a new process (no version seen before)."""
    monkeypatch.setattr(loader, "_LAST_GOOD", {})


def _new_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "_LAST_GOOD", {})


def _record(hub: Hub, agreements: AgreementSet | None = None) -> list[str]:
    entries = record_agreement_changes(
        hub.engine, hub.pipeline.audit, agreements or hub.pipeline.gatekeeper.agreements
    )
    return [e.action for e in entries]


def _break(path: Path) -> bytes:
    """An edit that leaves the file unloadable: a status the model does not admit."""
    text = path.read_text(encoding="utf-8")
    broken = re.sub(r"(?m)^status: \w+$", "status: quizás", text)
    path.write_text(broken, encoding="utf-8")
    assert path.read_text(encoding="utf-8") != text
    return path.read_bytes()


def _status_line(path: Path) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if line.startswith("status:"))


def _send(hub: Hub, pipeline_of: Hub | None, i: int, agreement: str = PAM) -> str:
    pipeline = (pipeline_of or hub).pipeline
    value, headers = sealed(hub.engine, change_set(agreement, [item(i)]))
    outcome = pipeline.process(KafkaMessage(topic_of(agreement), 0, i, value, tuple(headers)))
    return outcome.status if outcome.reason_code is None else outcome.reason_code


def _restarted(hub: Hub) -> Hub:
    """A worker that starts on the same database and directory."""
    published = RecordingPublisher()
    pipeline = build_pipeline(hub.settings, published, engine=hub.engine, today=TODAY)
    return Hub(hub.settings, hub.engine, pipeline, published)


def test_each_audited_version_is_stored_byte_for_byte_with_its_kind(hub: Hub) -> None:
    _record(hub)
    folder = hub.settings.agreements_dir
    with hub.engine.connect() as conn:
        rows = {r.agreement_id: r for r in conn.execute(select(agreement_versions))}
    assert set(rows) == set(hub.pipeline.gatekeeper.agreements.ids)
    pam = rows[PAM]
    assert bytes(pam.content) == (folder / PAM_FILE).read_bytes()
    assert pam.sha256 == hashlib.sha256(bytes(pam.content)).hexdigest()
    assert (pam.file, pam.kind) == (PAM_FILE, "padron")
    assert rows[CUIS].kind == "encuesta"
    changed = [e for e in iter_entries(hub.engine) if e.agreement_id == PAM]
    assert [e.details["kind"] for e in changed] == ["padron"]

    # an edit: its version is stored with its modificación; nothing twice
    path = folder / PAM_FILE
    path.write_text(path.read_text(encoding="utf-8") + "\n# editado\n", encoding="utf-8")
    assert hub.pipeline.gatekeeper.refresh(force=True)
    assert _record(hub) == [Action.AGREEMENT_CHANGED]
    assert _record(hub) == []
    with hub.engine.connect() as conn:
        digests = set(
            conn.execute(
                select(agreement_versions.c.sha256).where(agreement_versions.c.agreement_id == PAM)
            ).scalars()
        )
    assert digests == {pam.sha256, hashlib.sha256(path.read_bytes()).hexdigest()}


def test_a_version_audited_before_the_store_existed_is_stored_at_the_next_start(
    hub: Hub,
) -> None:
    _record(hub)
    with hub.engine.begin() as conn:
        conn.execute(agreement_versions.delete())  # as on a hub upgraded to migration 0007
    assert _record(hub) == []  # nothing to audit...
    with hub.engine.connect() as conn:  # ...but the bytes of what is in force are kept
        stored = set(conn.execute(select(agreement_versions.c.agreement_id)).scalars())
    assert stored == set(hub.pipeline.gatekeeper.agreements.ids)


def test_a_file_broken_across_a_restart_keeps_its_last_good_version(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    _record(hub)
    good_sha = hashlib.sha256((hub.settings.agreements_dir / PAM_FILE).read_bytes()).hexdigest()
    failed = _break(hub.settings.agreements_dir / PAM_FILE)

    _new_process(monkeypatch)
    worker = _restarted(hub)
    agreements = worker.pipeline.gatekeeper.agreements
    assert PAM in agreements
    (broken,) = agreements.broken
    assert broken.path.name == PAM_FILE and broken.previous is not None
    assert broken.previous.stored and broken.previous.sha256 == good_sha
    text = broken.render()
    line = _status_line(hub.settings.agreements_dir / PAM_FILE)
    assert f"{PAM_FILE}:{line}: campo 'status'" in text
    assert "sigue en vigor su última versión buena" in text

    assert _send(hub, worker, 1) == "ACCEPTED"  # the agreement never stopped being in force
    assert _record(worker) == [Action.AGREEMENT_LOADED]  # and the log says why
    (kept,) = [e for e in iter_entries(hub.engine) if e.action == Action.AGREEMENT_LOADED]
    assert kept.agreement_id == PAM
    assert kept.details["file"] == PAM_FILE and kept.details["line"] == str(line)
    assert kept.details["field"] == "status" and "quizás" in kept.details["error"]
    assert kept.details["sha256"] == good_sha
    assert kept.details["failed_sha256"] == hashlib.sha256(failed).hexdigest()
    assert "sigue en vigor su última versión buena" in kept.details["reason"]
    assert not [e for e in iter_entries(hub.engine) if e.details.get("change") == "baja"]

    # another worker, or the next restart: the same version, recorded once
    _new_process(monkeypatch)
    other = _restarted(hub)
    (again,) = other.pipeline.gatekeeper.agreements.broken
    assert again.previous is not None and again.previous.sha256 == good_sha
    assert _record(other) == []
    assert _send(hub, other, 2) == "ACCEPTED"


def test_a_kept_version_follows_the_last_audited_edit(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    _record(hub)
    path = hub.settings.agreements_dir / PAM_FILE
    path.write_text(
        path.read_text(encoding="utf-8").replace("status: vigente", "status: suspendido"),
        encoding="utf-8",
    )
    assert hub.pipeline.gatekeeper.refresh(force=True)
    _record(hub)
    _break(path)
    _new_process(monkeypatch)
    worker = _restarted(hub)
    assert worker.pipeline.gatekeeper.agreements.get(PAM).status == "suspendido"
    assert _send(hub, worker, 1) == "CONVENIO_NO_VIGENTE"


def test_a_stored_version_never_overrides_a_file_that_loads(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    _record(hub)
    folder = hub.settings.agreements_dir
    text = (folder / PAM_FILE).read_text(encoding="utf-8")
    _break(folder / PAM_FILE)
    # the operator moved the agreement to another file (suspended) and left the old one broken
    (folder / "a-pam-nuevo.yaml").write_text(
        text.replace("status: vigente", "status: suspendido"), encoding="utf-8"
    )
    _new_process(monkeypatch)
    agreements = AgreementSet(folder, StoredVersions(hub.engine))
    assert agreements.get(PAM).status == "suspendido"
    assert agreements.path_of(PAM).name == "a-pam-nuevo.yaml"
    (broken,) = agreements.broken
    assert broken.previous is None


def test_a_stored_version_must_still_pass_the_hubs_checks(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stored bytes are parsed again: a production agreement carrying its demo key (anyone can
    sign with it) stays out, like the same file would; so do bytes that do not match their
    digest."""
    _record(hub)
    path = hub.settings.agreements_dir / PAM_FILE
    production = path.read_bytes().replace(b"environment: demo", b"environment: produccion")
    digest = hashlib.sha256(production).hexdigest()
    with hub.engine.begin() as conn:
        conn.execute(
            agreement_versions.insert().values(
                agreement_id=PAM,
                sha256=digest,
                file=PAM_FILE,
                kind="padron",
                content=production,
                recorded_at=TODAY,
            )
        )
    hub.pipeline.audit.append_many(
        [
            AuditEvent(
                actor=AGREEMENTS_ACTOR,
                action=Action.AGREEMENT_CHANGED,
                agreement_id=PAM,
                details={"change": "modificación", "file": PAM_FILE, "sha256": digest},
                key="prueba-produccion",
            )
        ]
    )
    _break(path)
    _new_process(monkeypatch)
    agreements = AgreementSet(hub.settings.agreements_dir, StoredVersions(hub.engine))
    assert PAM not in agreements
    assert [b.previous for b in agreements.broken] == [None]

    # stored bytes changed behind the hub's back (they no longer match their digest): not used
    with hub.engine.begin() as conn:
        conn.execute(
            update(agreement_versions)
            .where(agreement_versions.c.agreement_id == BECAS)
            .values(content=b"id: OTRO\n")
        )
    _break(hub.settings.agreements_dir / "cnbbbj-becas-ems.yaml")
    _new_process(monkeypatch)
    agreements = AgreementSet(hub.settings.agreements_dir, StoredVersions(hub.engine))
    assert BECAS not in agreements and PAM not in agreements


def test_a_padron_agreement_removed_before_any_of_its_messages_stays_consumed(
    hub: Hub, tmp_path: Path
) -> None:
    """Removed while the hub was down, none of its messages ever read: a new worker still
    consumes its topic (the log says it was a padrón agreement) and refuses its messages as
    CONVENIO_DADO_DE_BAJA. A removed encuesta agreement's topic is not picked up."""
    _record(hub)
    folder = hub.settings.agreements_dir
    shutil.move(folder / PAM_FILE, tmp_path / PAM_FILE)
    shutil.move(folder / CUIS_FILE, tmp_path / CUIS_FILE)

    worker = _restarted(hub)
    _record(worker)  # the start records the bajas
    ids = worker.pipeline.gatekeeper.agreements.ids
    assert removed_topics(hub.engine, ids) == [topic_of(PAM)]
    assert _send(hub, worker, 1) == "CONVENIO_DADO_DE_BAJA"


def test_without_a_recorded_kind_the_stored_version_or_the_ledger_decides(hub: Hub) -> None:
    """Entries written before the log recorded kinds: the stored version's kind tells; with
    neither, only a topic the hub read from (the ledger) is kept."""
    _record(hub)
    events = []
    for agreement_id, kind in [
        ("CONV-VIEJO-PADRON-2025", "padron"),
        ("CONV-VIEJO-ENCUESTA-2025", "encuesta"),
        ("CONV-VIEJO-SIN-VERSION-2025", None),
    ]:
        digest = hashlib.sha256(agreement_id.encode()).hexdigest()
        for change in ("alta", "baja"):
            details = {"change": change, "file": f"{agreement_id.lower()}.yaml", "sha256": digest}
            events.append(
                AuditEvent(
                    actor=AGREEMENTS_ACTOR,
                    action=Action.AGREEMENT_CHANGED,
                    agreement_id=agreement_id,
                    details=details,
                    key=f"prueba:{agreement_id}:{change}",
                )
            )
        if kind is not None:
            with hub.engine.begin() as conn:
                conn.execute(
                    agreement_versions.insert().values(
                        agreement_id=agreement_id,
                        sha256=digest,
                        file=f"{agreement_id.lower()}.yaml",
                        kind=kind,
                        content=b"(antes)",
                        recorded_at=TODAY,
                    )
                )
    hub.pipeline.audit.append_many(events)
    ids = hub.pipeline.gatekeeper.agreements.ids
    assert removed_topics(hub.engine, ids) == [topic_of("CONV-VIEJO-PADRON-2025")]
