"""A real ``sisi hub`` restarted after the agreements changed while it was down: one padrón
agreement removed (none of its messages ever read) and another one's file broken.

The removed agreement's topic is still consumed and its message refused as
``CONVENIO_DADO_DE_BAJA`` (nothing an agency sent waits unread forever); the broken agreement
keeps the version the hub audited before the restart, so its message is accepted, and the hub
says loudly which file, line and field fail.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest

from hub.audit.store import iter_entries
from hub.db import make_engine
from hub.gatekeeper.schemas import StoreSchemas
from hub.quarantine.store import list_items
from hub.settings import REPO_ROOT
from hub.topics import agreement_receipts
from tests.hub.gatekeeper.changesets import BECAS, PAM, change_set, item, sealed, topic_of
from tests.hub.worker.running import HubProcess, ReceiptReader, publish

SAMPLES = REPO_ROOT / "agreements"
PAM_FILE = "bienestar-pam.yaml"
BECAS_FILE = "cnbbbj-becas-ems.yaml"


@pytest.mark.slow
def test_a_restarted_hub_consumes_removed_agreements_and_keeps_broken_ones(
    fresh_broker, db_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "convenios"
    folder.mkdir()
    shutil.copy(SAMPLES / PAM_FILE, folder)
    shutil.copy(SAMPLES / BECAS_FILE, folder)
    shutil.copy(SAMPLES / "edomex-mujeres-bienestar.yaml", folder)  # stays as it is
    hub = HubProcess(fresh_broker, db_url, tmp_path)
    hub.env["SISI_AGREEMENTS_DIR"] = str(folder)
    engine = make_engine(db_url)
    schemas = StoreSchemas(engine)
    bootstrap = fresh_broker.bootstrap_servers
    receipts = ReceiptReader(bootstrap, agreement_receipts(BECAS), schemas)
    try:
        hub.start()
        first = change_set(BECAS, [item(1, program="S311")])
        publish(bootstrap, [(topic_of(BECAS), *sealed(engine, first))])
        receipts.wait_for({first["message_id"]}, hub, limit=120)  # both agreements recorded
        assert hub.stop() == 0

        # while the hub is down: PAM's file is removed before any PAM message was read, and
        # BECAS's file gets an invalid status
        (folder / PAM_FILE).unlink()
        becas = folder / BECAS_FILE
        text = becas.read_text(encoding="utf-8")
        becas.write_text(re.sub(r"(?m)^status: \w+$", "status: quizás", text), encoding="utf-8")
        line = next(
            n
            for n, row in enumerate(becas.read_text(encoding="utf-8").splitlines(), 1)
            if row.startswith("status:")
        )
        late_pam = change_set(PAM, [item(2)])
        late_becas = change_set(BECAS, [item(3, program="S311")])
        publish(
            bootstrap,
            [
                (topic_of(PAM), *sealed(engine, late_pam)),
                (topic_of(BECAS), *sealed(engine, late_becas)),
            ],
        )

        hub.start()
        receipts.wait_for({late_becas["message_id"]}, hub, limit=120)
        deadline = time.monotonic() + 90
        refused = []
        while time.monotonic() < deadline and not refused:
            refused = [
                entry
                for entry in list_items(engine, reason_code="CONVENIO_DADO_DE_BAJA")
                if entry.message_id == late_pam["message_id"]
            ]
            time.sleep(1)
        assert refused, f"el mensaje del convenio dado de baja no se leyó\n{hub.log_tail()}"
        assert refused[0].agreement_id == PAM and PAM_FILE in refused[0].message
        time.sleep(7)  # a look of the topic watch (every 5 s): it must not resubscribe
        assert hub.alive()
    finally:
        hub.stop()
        receipts.close()
    by_id = {r["message_id"]: r for r in receipts.receipts}
    assert by_id[late_becas["message_id"]]["status"] == "ACCEPTED"
    log = hub.log_tail()
    assert f"{BECAS_FILE}:{line}: campo 'status'" in log
    assert "sigue en vigor su última versión buena" in log
    assert "se reinicia el worker" not in log  # the topic watch agrees with the worker
    kept = [e for e in iter_entries(engine) if e.action == "AGREEMENT_LOADED"]
    assert [(e.agreement_id, e.details["file"], e.details["line"]) for e in kept] == [
        (BECAS, BECAS_FILE, str(line))
    ]
    engine.dispose()
