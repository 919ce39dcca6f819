"""``sisi hub`` as a real process on a real broker: signed change sets in, receipts and rows out."""

from __future__ import annotations

import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from hub.agreements.loader import AgreementSet
from hub.compliance import read_compliance
from hub.db import make_engine
from hub.gatekeeper.schemas import StoreSchemas
from hub.registry import stats
from hub.topics import agreement_receipts
from tests.hub.gatekeeper.changesets import PAM, change_set, item, sealed, topic_of
from tests.hub.worker.running import HubProcess, ReceiptReader, publish


def _sample(text_: str, name: str, labels: dict[str, str]) -> float | None:
    for family in text_string_to_metric_families(text_):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return None


def test_hub_process_accepts_signed_change_sets_and_answers_with_receipts(
    fresh_broker, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    hub = HubProcess(fresh_broker, url, tmp_path)
    engine = make_engine(url)
    records = [
        change_set(PAM, [item(n * 10 + k) for k in range(10)]) for n in range(5)
    ] + [change_set(PAM, [item(900, program="S311")])]
    messages = []
    for record in records:
        value, headers = sealed(engine, record)
        messages.append((topic_of(PAM), value, headers))
    reader = ReceiptReader(
        fresh_broker.bootstrap_servers, agreement_receipts(PAM), StoreSchemas(engine)
    )
    hub.start()
    try:
        publish(fresh_broker.bootstrap_servers, messages)
        reader.wait_for({r["message_id"] for r in records}, hub, limit=120)
        metrics = urllib.request.urlopen(
            f"http://127.0.0.1:{hub.metrics_port}/metrics", timeout=10
        ).read().decode()
    finally:
        assert hub.stop() == 0, hub.log_tail()
        reader.close()
    statuses = sorted(r["status"] for r in reader.receipts)
    assert statuses == ["ACCEPTED"] * 5 + ["REJECTED"]
    assert list(hub.cwd.iterdir()) == []  # faust's data directory is under SISI_DATA_DIR
    assert "\x1b" not in hub.log.read_text(errors="replace")  # no terminal codes in a log
    assert (tmp_path / "var" / "faust").is_dir()
    assert stats(engine)["applied_items"] == 50
    with engine.connect() as conn:
        items = "select count(*) from audit_log where action like 'ITEM_%'"
        assert conn.execute(text(items)).scalar_one() == 51
        started = "select count(*) from audit_log where action = 'AGREEMENT_CHANGED'"
        altas = conn.execute(text(started)).scalar_one()
    assert altas == len(AgreementSet(hub.settings.agreements_dir))  # recorded at start
    row = read_compliance(engine)[0]
    assert (row.items_accepted, row.items_rejected) == (50, 1)
    assert row.item_rejections == {"PROGRAMA_FUERA_DE_CONVENIO": 1}
    assert row.curp_validity == 1.0
    labels = {"agreement": PAM, "level": "federal", "state": "00"}
    assert _sample(metrics, "sisi_items_accepted_total", labels) == 50
    rejected = {**labels, "reason": "PROGRAMA_FUERA_DE_CONVENIO"}
    assert _sample(metrics, "sisi_items_rejected_total", rejected) == 1
    # a delivery has an accepted item: the sixth transaction (all rejected) is none
    assert _sample(metrics, "sisi_deliveries_total", labels) == 5
    assert _sample(metrics, "sisi_curp_validity_ratio", labels) == 1.0
    assert _sample(metrics, "sisi_last_delivery_timestamp_seconds", labels) is not None
    engine.dispose()
