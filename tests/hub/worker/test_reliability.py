"""SIGKILL the hub worker repeatedly during a large delivery: nothing lost, nothing doubled.

On SQLite the whole ``sisi hub`` (one worker) is killed and started again; on PostgreSQL, the
production shape, ``sisi hub --workers 2`` runs on and one of its workers is killed each time
(the other takes over its partitions while the supervisor starts a replacement).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from hub.agreements.loader import AgreementSet
from hub.audit import load_hub_public_key, verify_chain
from hub.audit.store import iter_entries
from hub.compliance import read_compliance
from hub.db import make_engine
from hub.gatekeeper.schemas import StoreSchemas
from hub.registry import stats
from hub.topics import agreement_receipts
from tests.hub.gatekeeper.changesets import PAM, change_set, frame, item, topic_of
from tests.hub.worker.running import HubProcess, ReceiptReader, publish

CHANGE_SETS = 100
ITEMS = 500


@pytest.mark.slow
@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_sigkilled_worker_ends_in_the_exact_expected_state(
    fresh_broker, tmp_path: Path, database: str, request: pytest.FixtureRequest
) -> None:
    from hub.agreements.keys import demo_private_key
    from hub.envelope import seal

    workers = 1 if database == "sqlite" else 2
    url = (
        f"sqlite:///{tmp_path / 'registry.sqlite3'}"
        if database == "sqlite"
        else str(request.getfixturevalue("pg_url"))
    )
    hub = HubProcess(fresh_broker, url, tmp_path)
    engine = make_engine(url)
    key = demo_private_key(PAM)
    transaction = "entrega-grande"
    records = [
        change_set(
            PAM,
            [item(n * ITEMS + k) for k in range(ITEMS)],
            transaction_id=transaction,
            chunk=(n, CHANGE_SETS),
        )
        for n in range(CHANGE_SETS)
    ]
    messages = []
    for record in records:
        value = frame(engine, record)
        messages.append((topic_of(PAM), value, seal(key, PAM, record["message_id"], value).headers))
    wanted = {r["message_id"] for r in records}
    reader = ReceiptReader(
        fresh_broker.bootstrap_servers, agreement_receipts(PAM), StoreSchemas(engine)
    )
    publish(fresh_broker.bootstrap_servers, messages)
    hub.start("--workers", str(workers))
    try:
        killed = reader.wait_for(
            wanted, hub, limit=300, kill_at=(10, 35, 60), one_worker=workers > 1
        )
    finally:
        hub.stop()
        reader.close()

    expected = CHANGE_SETS * ITEMS
    assert len(killed) == 3 and killed[-1] < CHANGE_SETS, killed  # killed mid-delivery
    print(f"receipts at each SIGKILL: {killed}")
    assert reader.message_ids() == wanted  # every change set has a receipt
    assert {r["status"] for r in reader.receipts} == {"ACCEPTED"}
    totals = stats(engine)
    assert totals["applied_items"] == expected
    assert totals["people"] == expected
    with engine.connect() as conn:
        actions = dict(
            conn.execute(text("select action, count(*) from audit_log group by action")).all()
        )
        ledger = conn.execute(text("select count(*) from processed_messages")).scalar_one()
        versions = conn.execute(text("select count(*) from sr_subject_versions")).scalar_one()
        configs = conn.execute(text("select count(*) from sr_config")).scalar_one()
    agreements = len(AgreementSet(hub.settings.agreements_dir))
    # each agreement, contract version and mode recorded once, however many times the worker started
    assert actions == {
        "ITEM_ACCEPTED": expected,
        "AGREEMENT_CHANGED": agreements,
        "CONTRACT_REGISTERED": versions,
        "CONTRACT_CONFIG_CHANGED": configs,  # each subject's compatibility mode, once
    }
    assert ledger == CHANGE_SETS
    report = verify_chain(iter_entries(engine), load_hub_public_key(hub.settings))
    assert report.ok, report.render()
    row = read_compliance(engine)[0]
    assert row.counters["messages"] == CHANGE_SETS
    assert row.counters["items_received"] == row.items_accepted == expected
    assert row.items_rejected == 0 and row.item_rejections == {}
    assert row.deliveries == 1
    assert row.counters["replays"] == 0
    engine.dispose()
