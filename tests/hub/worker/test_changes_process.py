"""A real ``sisi hub`` audits agreement and contract changes made while it runs, idle or not."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from hub.agreements.loader import AgreementSet
from hub.audit import AuditEntry, iter_entries, load_hub_public_key, verify_chain
from hub.db import make_engine
from hub.gatekeeper.schemas import StoreSchemas
from hub.schema_registry.store import SchemaStore
from hub.settings import REPO_ROOT
from hub.topics import agreement_receipts
from tests.hub.gatekeeper.changesets import PAM, SUBJECT, change_set, item, sealed, topic_of
from tests.hub.worker.running import HubProcess, ReceiptReader, publish


def _wait(
    engine: Engine, hub: HubProcess, found: Callable[[list[AuditEntry]], bool], limit: float
) -> list[AuditEntry]:
    """The log once ``found`` holds for it (a deadline only to avoid hanging)."""
    deadline = time.monotonic() + limit
    while True:
        entries = list(iter_entries(engine))
        if found(entries):
            return entries
        assert hub.alive(), hub.log_tail()
        assert time.monotonic() < deadline, hub.log_tail()
        time.sleep(0.3)


@pytest.mark.slow
def test_a_running_hub_audits_changes_and_accepts_a_new_contract_version(
    fresh_broker, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    folder = tmp_path / "convenios"
    shutil.copytree(REPO_ROOT / "agreements", folder)
    hub = HubProcess(fresh_broker, url, tmp_path)
    hub.env["SISI_AGREEMENTS_DIR"] = str(folder)
    engine = make_engine(url)
    count = len(AgreementSet(folder))

    def changes(entries: list[AuditEntry]) -> list[AuditEntry]:
        return [e for e in entries if e.action == "AGREEMENT_CHANGED"]

    hub.start()
    reader = ReceiptReader(
        fresh_broker.bootstrap_servers, agreement_receipts(PAM), StoreSchemas(engine)
    )
    try:
        _wait(engine, hub, lambda log: len(changes(log)) == count, 60)  # altas at start

        # while idle: a ChangeSet v3 registered (as the REST API would) and allowed to PAM
        definition = json.loads(SchemaStore(engine).get_version(SUBJECT, 2).schema)
        definition["fields"].append({"name": "canal", "type": ["null", "string"], "default": None})
        v3 = SchemaStore(engine).register(SUBJECT, json.dumps(definition))
        pam = folder / "bienestar-pam.yaml"
        pam.write_text(
            pam.read_text(encoding="utf-8").replace("versions: [1, 2]", "versions: [1, 2, 3]"),
            encoding="utf-8",
        )

        def recorded(log: list[AuditEntry]) -> bool:
            contract = any(
                e.action == "CONTRACT_REGISTERED" and e.details.get("schema_id") == str(v3.id)
                for e in log
            )
            return contract and len(changes(log)) == count + 1

        entries = _wait(engine, hub, recorded, 60)  # the worker's timer, no message needed
        assert changes(entries)[-1].agreement_id == PAM
        assert changes(entries)[-1].details["change"] == "modificación"

        record = change_set(PAM, [item(1), item(2)])
        value, headers = sealed(engine, record, version=3)
        publish(fresh_broker.bootstrap_servers, [(topic_of(PAM), value, headers)])
        reader.wait_for({record["message_id"]}, hub, limit=90)
    finally:
        assert hub.stop() == 0, hub.log_tail()
        reader.close()
    assert [r["status"] for r in reader.receipts] == ["ACCEPTED"]
    entries = list(iter_entries(engine))
    assert len(changes(entries)) == count + 1  # nothing recorded twice
    report = verify_chain(iter_entries(engine), load_hub_public_key(hub.settings))
    assert report.ok, report.render()
    engine.dispose()
