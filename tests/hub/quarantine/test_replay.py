"""``sisi quarantine replay``: checks before publishing, one claim, recoverable failures."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from hub.agreements.loader import AgreementSet
from hub.errors import BrokerError
from hub.quarantine.replay import ReplayRefusedError, replay
from hub.quarantine.store import get_item, list_items
from hub.worker import KafkaMessage, RecordingPublisher
from hub.worker.publisher import KafkaPublisher
from tests.hub.gatekeeper.changesets import BECAS, PAM, change_set, item, sealed, topic_of
from tests.hub.gatekeeper.fixtures import TODAY, Hub

PAM_FILE = "bienestar-pam.yaml"


def _quarantine(hub: Hub, topic: str, value: bytes, headers: list[tuple[str, bytes]]) -> int:
    """Process one message; the id of its (single) quarantine entry."""
    offset = len(hub.published.records) + 1000
    hub.pipeline.process(KafkaMessage(topic, 0, offset, value, tuple(headers)))
    (entry,) = [i for i in list_items(hub.engine) if i.offset == offset and i.topic == topic]
    return entry.id


def _refused_while_removed(hub: Hub, tmp_path: Path, n: int) -> int:
    """A PAM set quarantined without receipt while PAM's file was out; the file is back."""
    directory = hub.settings.agreements_dir
    shutil.move(directory / PAM_FILE, tmp_path / PAM_FILE)
    assert hub.pipeline.gatekeeper.refresh(force=True)
    value, headers = sealed(hub.engine, change_set(PAM, [item(n)]))
    entry = _quarantine(hub, topic_of(PAM), value, headers)
    shutil.move(tmp_path / PAM_FILE, directory / PAM_FILE)
    assert hub.pipeline.gatekeeper.refresh(force=True)
    return entry


def _replay(hub: Hub, entry: int, publisher: object | None = None, actor: str = "ana") -> object:
    from hub.audit.keys import load_or_create_hub_key
    from hub.audit.store import AuditLog

    return replay(
        hub.engine,
        AuditLog(hub.engine, load_or_create_hub_key(hub.settings)),
        AgreementSet(hub.settings.agreements_dir),
        entry,
        publisher or RecordingPublisher(),  # type: ignore[arg-type]
        actor,
        purpose="convenio registrado de nuevo",
        today=TODAY,
    )


def _replayed_entries(hub: Hub) -> list[dict[str, str]]:
    with hub.engine.connect() as conn:
        rows = conn.execute(
            text(
                "select details from audit_log where action = 'QUARANTINE_REPLAYED' "
                "order by sequence"
            )
        ).all()
    return [json.loads(r.details) for r in rows]


def _status(hub: Hub, entry: int) -> str:
    return get_item(hub.engine, entry).status


def test_a_signature_that_still_fails_is_not_replayed(hub: Hub) -> None:
    value, headers = sealed(
        hub.engine, change_set(PAM, [item(1)]), key=Ed25519PrivateKey.generate()
    )
    entry = _quarantine(hub, topic_of(PAM), value, headers)
    publisher = RecordingPublisher()
    with pytest.raises(ReplayRefusedError) as refused:
        _replay(hub, entry, publisher)
    assert "la firma no verifica" in refused.value.message
    assert "registre la nueva en el convenio" in (refused.value.hint or "")
    assert publisher.records == [] and _status(hub, entry) == "PENDIENTE"
    assert _replayed_entries(hub) == []


def test_a_wrong_topic_is_not_replayed_to_the_same_topic(hub: Hub) -> None:
    value, headers = sealed(hub.engine, change_set(PAM, [item(2)]))
    entry = _quarantine(hub, topic_of(BECAS), value, headers)
    assert get_item(hub.engine, entry).reason_code == "TOPICO_INCORRECTO"
    with pytest.raises(ReplayRefusedError) as refused:
        _replay(hub, entry)
    assert "TOPICO_INCORRECTO" in refused.value.message
    assert topic_of(PAM) in (refused.value.hint or "")
    assert _status(hub, entry) == "PENDIENTE"


def test_a_removed_agreement_is_replayed_only_once_it_is_back(hub: Hub, tmp_path: Path) -> None:
    directory = hub.settings.agreements_dir
    kept = tmp_path / PAM_FILE
    shutil.move(directory / PAM_FILE, kept)
    assert hub.pipeline.gatekeeper.refresh(force=True)
    value, headers = sealed(hub.engine, change_set(PAM, [item(3)]))
    entry = _quarantine(hub, topic_of(PAM), value, headers)
    assert [r.topic for r in hub.published.records if r.topic.endswith("receipts")] == []

    with pytest.raises(ReplayRefusedError) as refused:
        _replay(hub, entry)
    assert "no tiene cargado" in refused.value.message
    assert "SISI_AGREEMENTS_DIR" in (refused.value.hint or "")

    shutil.move(kept, directory / PAM_FILE)
    assert hub.pipeline.gatekeeper.refresh(force=True)
    publisher = RecordingPublisher()
    _replay(hub, entry, publisher)
    (sent,) = publisher.records
    assert (sent.topic, sent.value) == (topic_of(PAM), value)
    assert _status(hub, entry) == "REENVIADO"
    assert [d["reason_code"] for d in _replayed_entries(hub)] == [
        get_item(hub.engine, entry).reason_code
    ]
    outcome = hub.pipeline.process(KafkaMessage(sent.topic, 0, 1, sent.value, sent.headers))
    assert outcome.status == "ACCEPTED"

    with pytest.raises(ReplayRefusedError) as again:  # already replayed
        _replay(hub, entry)
    assert "ya se reenvió" in again.value.message


def test_two_concurrent_replays_publish_once(hub: Hub, tmp_path: Path) -> None:
    entry = _refused_while_removed(hub, tmp_path, 4)
    publisher = RecordingPublisher()
    barrier = threading.Barrier(2)
    results: list[object] = []

    def run(actor: str) -> None:
        barrier.wait()
        try:
            results.append(_replay(hub, entry, publisher, actor))
        except ReplayRefusedError as exc:
            results.append(exc)

    threads = [threading.Thread(target=run, args=(name,)) for name in ("ana", "beto")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    refusals = [r for r in results if isinstance(r, ReplayRefusedError)]
    assert len(results) == 2 and len(refusals) == 1
    assert len(publisher.records) == 1
    assert len(_replayed_entries(hub)) == 1
    assert _status(hub, entry) == "REENVIADO"


def test_a_failed_publication_leaves_the_entry_pending_and_audited(
    hub: Hub, tmp_path: Path
) -> None:
    entry = _refused_while_removed(hub, tmp_path, 5)
    nowhere = KafkaPublisher("127.0.0.1:1", timeout=1.0)
    with pytest.raises(BrokerError) as failed:
        _replay(hub, entry, nowhere)
    assert "vuelve a PENDIENTE" in failed.value.message
    assert _status(hub, entry) == "PENDIENTE"
    assert [d.get("result") for d in _replayed_entries(hub)] == [None, "fallido"]

    publisher = RecordingPublisher()
    _replay(hub, entry, publisher)
    assert len(publisher.records) == 1 and _status(hub, entry) == "REENVIADO"
    assert [d.get("result") for d in _replayed_entries(hub)] == [None, "fallido", None]


def test_refusals_say_the_cause_by_reason(hub: Hub) -> None:
    value, headers = sealed(hub.engine, change_set(PAM, [item(6), item(7, program="S311")]))
    hub.pipeline.process(KafkaMessage(topic_of(PAM), 0, 0, value, tuple(headers)))
    (entry,) = list_items(hub.engine, reason_code="PROGRAMA_FUERA_DE_CONVENIO")
    with pytest.raises(ReplayRefusedError) as refused:
        _replay(hub, entry.id)
    message, hint = refused.value.message, refused.value.hint or ""
    assert "el convenio no incluye el programa" in message and "MENSAJE_REPETIDO" in message
    assert "agréguelo al convenio" in hint and "conjunto nuevo" in hint
    assert "dos veces" not in message + hint
