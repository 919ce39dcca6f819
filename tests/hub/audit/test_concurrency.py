"""Several hub processes appending to one log at once still make one gapless, valid chain."""

from __future__ import annotations

import multiprocessing
import multiprocessing.synchronize
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Engine

from hub.agreements.keys import load_private_key, private_key_to_pem
from hub.audit import AuditLog, verify_chain
from hub.db import make_engine
from tests.hub.audit.conftest import accepted

BATCHES = 15
SIZE = 40


def _worker(url: str, key_path: str, name: str, ready: multiprocessing.synchronize.Barrier) -> None:
    engine = make_engine(url)
    log = AuditLog(engine, load_private_key(key_path))
    log.head()  # connect before the race starts
    ready.wait(60)  # both processes start appending together
    for batch in range(BATCHES):
        log.append_many(accepted(f"{name}-{batch}", SIZE))
        log.append_many(accepted(f"compartido-{batch}", SIZE // 2))  # both send it: one copy
    engine.dispose()


def test_two_processes_append_one_chain(
    db_url: str, audit_engine: Engine, hub_key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    key_path = tmp_path / "hub.key"
    key_path.write_bytes(private_key_to_pem(hub_key))
    context = multiprocessing.get_context("spawn")
    ready = context.Barrier(2)
    workers = [
        context.Process(target=_worker, args=(db_url, str(key_path), name, ready))
        for name in ("worker-a", "worker-b")
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0

    log = AuditLog(audit_engine, hub_key)
    entries = list(log.iter_entries())
    expected = 2 * BATCHES * SIZE + BATCHES * (SIZE // 2)
    assert [e.sequence for e in entries] == list(range(1, expected + 1))
    keys = [e.idempotency_key for e in entries]
    assert len(set(keys)) == len(keys)
    messages = {e.message_id for e in entries}
    assert {f"worker-a-{b}" for b in range(BATCHES)} <= messages
    assert {f"worker-b-{b}" for b in range(BATCHES)} <= messages
    report = verify_chain(entries, hub_key.public_key(), expected_head=log.head())
    assert report.ok, report.render()
    assert log.head().sequence == expected
