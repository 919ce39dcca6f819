"""A real ``sisi hub`` (one worker, no --workers: its restart re-executes the process) with one
agreement file broken from the start: the hub starts with the others and says so, applies the
other files' edits, and its restart for a new agreement does not exit because of the broken file."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from hub.db import make_engine
from hub.gatekeeper.schemas import StoreSchemas
from hub.settings import REPO_ROOT
from hub.topics import agreement_receipts
from tests.hub.gatekeeper.changesets import BECAS, PAM, change_set, item, sealed, topic_of
from tests.hub.worker.running import HubProcess, ReceiptReader, publish

SAMPLES = REPO_ROOT / "agreements"


@pytest.mark.slow
def test_a_hub_with_a_broken_file_starts_applies_edits_and_restarts(
    fresh_broker, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    folder = tmp_path / "convenios"
    folder.mkdir()
    shutil.copy(SAMPLES / "bienestar-pam.yaml", folder)
    leon = folder / "leon-jefas-familia.yaml"
    leon.write_text("id: [sin cerrar\n", encoding="utf-8")  # broken at the first load
    hub = HubProcess(fresh_broker, url, tmp_path)
    hub.env["SISI_AGREEMENTS_DIR"] = str(folder)
    engine = make_engine(url)
    schemas = StoreSchemas(engine)
    bootstrap = fresh_broker.bootstrap_servers
    pam_receipts = ReceiptReader(bootstrap, agreement_receipts(PAM), schemas)
    becas_receipts = ReceiptReader(bootstrap, agreement_receipts(BECAS), schemas)
    hub.start()
    try:
        first = change_set(PAM, [item(1)])
        publish(bootstrap, [(topic_of(PAM), *sealed(engine, first))])
        pam_receipts.wait_for({first["message_id"]}, hub, limit=90)
        log = hub.log_tail()
        assert "convenio con errores, no se carga" in log and "leon-jefas-familia.yaml:" in log

        # the operator suspends PAM while LEON is still broken: the suspension applies
        pam = folder / "bienestar-pam.yaml"
        pam.write_text(
            pam.read_text(encoding="utf-8").replace("status: vigente", "status: suspendido"),
            encoding="utf-8",
        )
        time.sleep(6)  # the gatekeeper looks at most every 5 s
        suspended = change_set(PAM, [item(2)])
        publish(bootstrap, [(topic_of(PAM), *sealed(engine, suspended))])
        pam_receipts.wait_for({suspended["message_id"]}, hub, limit=60)

        # a new agreement: the single worker re-executes itself, LEON still broken
        shutil.copy(SAMPLES / "cnbbbj-becas-ems.yaml", folder)
        becas = change_set(BECAS, [item(3, program="S311")])
        publish(bootstrap, [(topic_of(BECAS), *sealed(engine, becas))])
        becas_receipts.wait_for({becas["message_id"]}, hub, limit=150)
        assert hub.alive()
    finally:
        hub.stop()
        pam_receipts.close()
        becas_receipts.close()
    by_id = {r["message_id"]: r for r in pam_receipts.receipts}
    assert by_id[first["message_id"]]["status"] == "ACCEPTED"
    assert by_id[suspended["message_id"]]["status"] != "ACCEPTED"
    assert by_id[suspended["message_id"]]["reason_code"] == "CONVENIO_NO_VIGENTE"
    assert [r["status"] for r in becas_receipts.receipts] == ["ACCEPTED"]
    assert "se reinicia el worker" in hub.log_tail()
