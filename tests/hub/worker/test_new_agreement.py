"""An agreement added while the hub runs is served without anyone restarting the hub."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from hub.agreements.loader import AgreementSet
from hub.broker import EmbeddedBroker
from hub.db import make_engine
from hub.gatekeeper.schemas import StoreSchemas
from hub.registry import stats
from hub.settings import REPO_ROOT, Settings
from hub.topics import agreement_changes, agreement_receipts
from hub.worker.app import AgreementWatch, subscribed_topics
from tests.hub.gatekeeper.changesets import BECAS, PAM, change_set, item, sealed, topic_of
from tests.hub.worker.running import HubProcess, ReceiptReader, publish

PAM_FILE = REPO_ROOT / "agreements" / "bienestar-pam.yaml"
BECAS_FILE = REPO_ROOT / "agreements" / "cnbbbj-becas-ems.yaml"


def _topics(broker: EmbeddedBroker) -> set[str]:
    admin = AdminClient({"bootstrap.servers": broker.bootstrap_servers})
    return set(admin.list_topics(timeout=10).topics)


def test_the_watch_creates_the_topics_of_a_new_agreement(fresh_broker, tmp_path: Path) -> None:
    folder = tmp_path / "convenios"
    folder.mkdir()
    shutil.copy(PAM_FILE, folder)
    settings = Settings(bootstrap_servers=fresh_broker.bootstrap_servers, agreements_dir=folder)
    watch = AgreementWatch(settings, subscribed_topics(AgreementSet(folder)))
    assert watch.check() is False  # nothing changed

    (folder / "a-medio-escribir.yaml").write_text("id: [sin cerrar\n", encoding="utf-8")
    assert watch.check() is False  # a file that does not load is left for the next look
    (folder / "a-medio-escribir.yaml").unlink()

    shutil.copy(BECAS_FILE, folder)
    assert watch.check() is True
    assert watch.changed
    assert {agreement_changes(BECAS), agreement_receipts(BECAS)} <= _topics(fresh_broker)


@pytest.mark.slow
def test_a_running_hub_serves_an_agreement_added_to_its_directory(
    fresh_broker, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    folder = tmp_path / "convenios"
    folder.mkdir()
    shutil.copy(PAM_FILE, folder)
    hub = HubProcess(fresh_broker, url, tmp_path)
    hub.env["SISI_AGREEMENTS_DIR"] = str(folder)
    engine = make_engine(url)
    schemas = StoreSchemas(engine)
    pam = change_set(PAM, [item(1), item(2)])
    value, headers = sealed(engine, pam)
    publish(fresh_broker.bootstrap_servers, [(topic_of(PAM), value, headers)])
    pam_receipts = ReceiptReader(fresh_broker.bootstrap_servers, agreement_receipts(PAM), schemas)
    hub.start()
    try:
        pam_receipts.wait_for({pam["message_id"]}, hub, limit=90)
        pid = hub.process.pid if hub.process else None

        shutil.copy(BECAS_FILE, folder)  # the operator registers a new convenio
        becas = change_set(BECAS, [item(3, program="S311"), item(4, program="S311")])
        value, headers = sealed(engine, becas)
        publish(fresh_broker.bootstrap_servers, [(topic_of(BECAS), value, headers)])
        reader = ReceiptReader(fresh_broker.bootstrap_servers, agreement_receipts(BECAS), schemas)
        try:
            reader.wait_for({becas["message_id"]}, hub, limit=150)
        finally:
            reader.close()
        assert hub.alive() and hub.process is not None and hub.process.pid == pid
    finally:
        hub.stop()
        pam_receipts.close()
    assert [r["status"] for r in reader.receipts] == ["ACCEPTED"]
    assert stats(engine)["applied_items"] == 4
    assert "convenios de padrón cambiados" in hub.log_tail()
