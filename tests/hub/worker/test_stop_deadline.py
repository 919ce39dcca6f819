"""A worker asked to stop while its broker is gone exits within the deadline (nothing is lost)."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from hub.agreements.keys import demo_private_key
from hub.db import make_engine
from hub.envelope import seal
from hub.gatekeeper.schemas import StoreSchemas
from hub.topics import agreement_receipts
from hub.worker.app import STOP_DEADLINE_SECONDS
from tests.hub.gatekeeper.changesets import PAM, change_set, frame, item, topic_of
from tests.hub.worker.running import HubProcess, ReceiptReader, publish


@pytest.mark.slow
def test_sigterm_with_the_broker_gone_mid_delivery_ends_the_worker_in_time(
    fresh_broker, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    hub = HubProcess(fresh_broker, url, tmp_path)
    engine = make_engine(url)
    key = demo_private_key(PAM)
    messages = []
    for n in range(60):
        record = change_set(PAM, [item(n * 500 + k) for k in range(500)])
        value = frame(engine, record)
        messages.append((topic_of(PAM), value, seal(key, PAM, record["message_id"], value).headers))
    reader = ReceiptReader(
        fresh_broker.bootstrap_servers, agreement_receipts(PAM), StoreSchemas(engine)
    )
    publish(fresh_broker.bootstrap_servers, messages)
    hub.start()
    try:
        deadline = time.monotonic() + 120
        while not reader.receipts:  # processing the delivery
            assert hub.alive() and time.monotonic() < deadline, hub.log_tail()
            reader.poll(0.5)
        reader.close()
        fresh_broker.kill()  # receipts of the batch in progress can no longer be delivered
        assert hub.process is not None
        hub.process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        hub.process.wait(timeout=STOP_DEADLINE_SECONDS + 60)
        waited = time.monotonic() - started
        print(f"stopped {waited:.1f} s after SIGTERM")
        assert waited < STOP_DEADLINE_SECONDS + 10, hub.log_tail()
    finally:
        if hub.alive():
            hub.process.kill()  # type: ignore[union-attr]
        engine.dispose()
