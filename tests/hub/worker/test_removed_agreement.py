"""An agreement given de baja (file removed): its topic stays consumed, its sets are quarantined."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from hub.agreements.loader import AgreementSet
from hub.db import make_engine
from hub.quarantine.store import list_items
from hub.settings import REPO_ROOT
from hub.topics import agreement_receipts
from hub.worker import KafkaMessage
from hub.worker.app import AgreementWatch, subscribed_topics
from hub.worker.changes import record_agreement_changes
from hub.worker.removed import removed_topics
from tests.hub.gatekeeper.changesets import BECAS, PAM, change_set, item, sealed, topic_of
from tests.hub.gatekeeper.fixtures import Hub
from tests.hub.worker.running import HubProcess, ReceiptReader, publish

PAM_FILE = "bienestar-pam.yaml"


def _remove_pam(hub: Hub, keep: Path) -> None:
    """The operator removes PAM's file; the gatekeeper reloads and the baja is audited."""
    shutil.move(hub.settings.agreements_dir / PAM_FILE, keep / PAM_FILE)
    assert hub.pipeline.gatekeeper.refresh(force=True)
    record_agreement_changes(hub.engine, hub.pipeline.audit, hub.pipeline.gatekeeper.agreements)


def test_a_removed_agreements_sets_are_quarantined_without_receipt(
    hub: Hub, tmp_path: Path
) -> None:
    record_agreement_changes(hub.engine, hub.pipeline.audit, hub.pipeline.gatekeeper.agreements)
    value, headers = sealed(hub.engine, change_set(PAM, [item(1)]))
    first = hub.pipeline.process(KafkaMessage(topic_of(PAM), 0, 0, value, tuple(headers)))
    assert first.status == "ACCEPTED"
    receipts = len(hub.published.on(agreement_receipts(PAM)))

    _remove_pam(hub, tmp_path)
    value, headers = sealed(hub.engine, change_set(PAM, [item(2)]))
    message = KafkaMessage(topic_of(PAM), 0, 1, value, tuple(headers))
    outcome = hub.pipeline.process(message)
    assert (outcome.status, outcome.reason_code) == ("REJECTED", "CONVENIO_DADO_DE_BAJA")
    assert outcome.receipt is None  # not authenticated: no receipt in the agency's name
    assert len(hub.published.on(agreement_receipts(PAM))) == receipts
    (entry,) = list_items(hub.engine, reason_code="CONVENIO_DADO_DE_BAJA")
    assert entry.agreement_id == PAM and entry.offset == 1
    assert "se retiró del directorio de convenios" in entry.message
    assert PAM_FILE in entry.message and "quarantine replay" in entry.message
    assert hub.pipeline.process(message).kind == "redelivery"  # in the ledger: done once

    # an id the hub never had is still unknown
    value, headers = sealed(hub.engine, change_set("CONV-NADIE-2026", [item(3)]))
    stranger = hub.pipeline.process(KafkaMessage(topic_of(PAM), 0, 2, value, tuple(headers)))
    assert stranger.reason_code == "CONVENIO_DESCONOCIDO"

    # back in the directory: served again
    shutil.move(tmp_path / PAM_FILE, hub.settings.agreements_dir / PAM_FILE)
    assert hub.pipeline.gatekeeper.refresh(force=True)
    value, headers = sealed(hub.engine, change_set(PAM, [item(4)]))
    again = hub.pipeline.process(KafkaMessage(topic_of(PAM), 0, 3, value, tuple(headers)))
    assert again.status == "ACCEPTED"


def test_the_topics_of_removed_agreements_stay_subscribed(hub: Hub, tmp_path: Path) -> None:
    record_agreement_changes(hub.engine, hub.pipeline.audit, hub.pipeline.gatekeeper.agreements)
    value, headers = sealed(hub.engine, change_set(PAM, [item(1)]))
    hub.pipeline.process(KafkaMessage(topic_of(PAM), 0, 0, value, tuple(headers)))
    folder = hub.settings.agreements_dir
    watch = AgreementWatch(hub.settings, subscribed_topics(AgreementSet(folder)))
    before = list(watch.topics)

    _remove_pam(hub, tmp_path)
    assert watch.check() is False  # no resubscription: PAM's topic is still read
    assert watch.topics == before and not watch.changed
    shutil.move(folder / "cnbbbj-becas-ems.yaml", tmp_path / "cnbbbj-becas-ems.yaml")
    record_agreement_changes(hub.engine, hub.pipeline.audit, AgreementSet(folder))

    # a new worker: both padrón agreements' topics (the log recorded their kind), BECAS's too
    # although none of its messages was read (tests/hub/worker/test_agreements_restart*.py)
    loaded = AgreementSet(folder)
    removed = removed_topics(hub.engine, loaded.ids)
    assert removed == sorted([topic_of(PAM), topic_of(BECAS)])
    assert topic_of(PAM) in subscribed_topics(loaded, removed)
    assert topic_of(BECAS) in subscribed_topics(loaded, removed)


@pytest.mark.slow
def test_a_running_hub_quarantines_what_arrives_after_a_baja(fresh_broker, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    folder = tmp_path / "convenios"
    folder.mkdir()
    shutil.copy(REPO_ROOT / "agreements" / PAM_FILE, folder)
    shutil.copy(REPO_ROOT / "agreements" / "cnbbbj-becas-ems.yaml", folder)
    hub = HubProcess(fresh_broker, url, tmp_path)
    hub.env["SISI_AGREEMENTS_DIR"] = str(folder)
    engine = make_engine(url)
    from hub.gatekeeper.schemas import StoreSchemas

    schemas = StoreSchemas(engine)
    pam = change_set(PAM, [item(1)])
    value, headers = sealed(engine, pam)
    publish(fresh_broker.bootstrap_servers, [(topic_of(PAM), value, headers)])
    reader = ReceiptReader(fresh_broker.bootstrap_servers, agreement_receipts(PAM), schemas)
    hub.start()
    try:
        reader.wait_for({pam["message_id"]}, hub, limit=90)
        pid = hub.process.pid if hub.process else None
        (folder / PAM_FILE).unlink()  # baja
        time.sleep(12)  # the gatekeeper and the watch look every 5 s
        late = change_set(PAM, [item(2)])
        value, headers = sealed(engine, late)
        publish(fresh_broker.bootstrap_servers, [(topic_of(PAM), value, headers)])
        deadline = time.monotonic() + 90
        found = []
        while time.monotonic() < deadline and not found:
            found = [
                i
                for i in list_items(engine, reason_code="CONVENIO_DADO_DE_BAJA")
                if i.message_id == late["message_id"]
            ]
            time.sleep(1)
        assert found, hub.log_tail()
        assert hub.alive() and hub.process is not None and hub.process.pid == pid
    finally:
        hub.stop()
        reader.close()
