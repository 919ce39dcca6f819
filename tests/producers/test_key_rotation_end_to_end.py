"""Key rotation with change sets in flight, on a real broker and the real hub (``sisi hub``).

The agency's outbox holds messages signed with the old key while the agreement rotates to a new
one: within the overlap they are accepted; after the old key is revoked the hub refuses them
without a receipt (FIRMA_INVALIDA, nothing claimed) and ``sisi outbox resign`` signs the same
messages (same ids, same bytes) with the new key, which the hub accepts exactly once. A message
that already got in, re-signed and sent again, is the same message: nothing is applied twice.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from hub.agreements import demo_private_key, load_private_key
from hub.agreements.keys import generate_keypair, key_id, public_key_of
from hub.agreements.loader import load_agreement
from hub.db import make_engine
from hub.envelope import reseal
from hub.schema_registry import running_registry
from hub.settings import REPO_ROOT, Settings
from producers import ProduceOptions, produce_file
from producers.outbox import Outbox
from producers.receipts import ReceiptListener
from producers.store import open_state
from tests.hub.worker.running import HubProcess, publish
from tests.producers.test_hub_end_to_end import SISI, Stack, _exactly_once

PAM = "CONV-BIENESTAR-PAM-2026"
OLD = public_key_of(demo_private_key(PAM))


@pytest.fixture
def rotating(fresh_broker, tmp_path: Path) -> Iterator[tuple[Stack, Path]]:
    """The hub and a Schema Registry on one database, with an agreements directory of its own."""
    folder = tmp_path / "agreements"
    shutil.copytree(REPO_ROOT / "agreements", folder)
    url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    hub = HubProcess(fresh_broker, url, tmp_path)
    hub.env["SISI_AGREEMENTS_DIR"] = str(folder)
    with running_registry(database_url=url) as registry:
        settings = Settings(
            bootstrap_servers=fresh_broker.bootstrap_servers,
            schema_registry_url=registry.url,
            data_dir=tmp_path / "agency",
            agreements_dir=folder,
        )
        try:
            yield Stack(hub, settings, url), folder / "bienestar-pam.yaml"
        finally:
            hub.stop()


def _write_keys(path: Path, old_entry: str, new: str, new_from: datetime) -> None:
    """PAM with ``public_keys``: the old (demo) key and the new one."""
    text_ = path.read_text(encoding="utf-8")
    start = text_.index("public_key")
    end = text_.index("\n", start) + 1
    if text_.startswith("public_keys:", start):
        end = text_.index("\nlayout:", start) + 1
    keys = (
        f"public_keys:\n  - key: {OLD}\n    valid_from: 2026-01-01\n{old_entry}"
        f"  - key: {new}\n    valid_from: {new_from.isoformat()}\n    note: clave 2027\n"
    )
    path.write_text(text_[:start] + keys + text_[end:], encoding="utf-8")
    load_agreement(path)  # the edit is a valid agreement


def _env(settings: Settings) -> dict[str, str]:
    import os

    return {
        **os.environ,
        "SISI_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "SISI_SCHEMA_REGISTRY_URL": settings.schema_registry_url,
        "SISI_DATA_DIR": str(settings.data_dir),
        "SISI_AGREEMENTS_DIR": str(settings.agreements_dir),
    }


def _wait_receipts(settings: Settings, ids: set[str], timeout: float) -> set[str]:
    conn = open_state(settings, PAM)
    listener = ReceiptListener(PAM, settings, conn)
    try:
        return listener.wait_for(ids, timeout)
    finally:
        listener.close()
        conn.close()


def _ledger(url: str, ids: set[str]) -> list[tuple[str, str | None, str | None, str]]:
    """(header message id, claimed message id, reason, outcome) of the hub's ledger rows."""
    engine = make_engine(url)
    try:
        with engine.connect() as db:
            rows = db.execute(
                text(
                    "select header_message_id, message_id, reason_code, outcome "
                    "from processed_messages"
                )
            ).all()
    finally:
        engine.dispose()
    return [(r[0], r[1], r[2], r[3]) for r in rows if r[0] in ids]


def _quarantined(url: str, ids: set[str]) -> list[str]:
    """The reason messages the hub quarantined for these message ids."""
    engine = make_engine(url)
    try:
        with engine.connect() as db:
            rows = db.execute(
                text(
                    "select m.message_id, e.message from quarantine_entries e join "
                    "quarantine_messages m on m.id = e.quarantine_message_id"
                )
            ).all()
    finally:
        engine.dispose()
    found = [str(r[1]) for r in rows if r[0] in ids]
    assert len(found) == len(ids), found
    return found


def test_rotation_with_messages_in_flight(rotating, synth, tmp_path: Path) -> None:
    stack, pam_file = rotating
    settings = stack.settings
    new_pem, new_public = generate_keypair()
    new_key_path = tmp_path / "nueva.key"
    new_key_path.write_bytes(new_pem)
    new_key_path.chmod(0o600)
    now = datetime.now(UTC)
    # overlap: the old key valid one more hour, the new one since a minute ago
    _write_keys(
        pam_file, f"    valid_until: {(now + timedelta(hours=1)).isoformat()}\n", new_public,
        now - timedelta(minutes=1),
    )  # fmt: skip
    agreement = load_agreement(pam_file)

    def produce(delivery: int):
        options = ProduceOptions(input=synth(PAM, people=20, delivery=delivery), chunk_size=5)
        return produce_file(agreement, demo_private_key(PAM), options, settings)

    # 1. signed with the old key while the hub is down; it starts within the overlap
    first = produce(1)
    assert first.published == first.change_sets == 4
    conn = open_state(settings, PAM)
    box = Outbox(conn)
    first_ids = box.unreceipted_ids()
    in_flight = next(iter(box.unreceipted()))  # kept to send again later, re-signed
    conn.close()
    stack.hub.start()
    assert _wait_receipts(settings, first_ids, 120) == set(), stack.hub.log_tail()
    assert _exactly_once(stack.url) == 20

    # 2. more signed with the old key, then the old key is revoked before the hub reads them
    stack.hub.stop()
    second = produce(2)
    assert second.published == second.change_sets > 0
    sent = second.altas + second.cambios + second.bajas
    conn = open_state(settings, PAM)
    second_ids = Outbox(conn).unreceipted_ids()
    conn.close()
    revoked_at = datetime.now(UTC)
    _write_keys(
        pam_file,
        f"    valid_until: {(now + timedelta(hours=1)).isoformat()}\n"
        f"    revoked_at: {revoked_at.isoformat()}\n",
        new_public,
        now - timedelta(minutes=1),
    )
    stack.hub.start()
    deadline = time.monotonic() + 120
    rows = _ledger(stack.url, second_ids)
    while len(rows) < len(second_ids) and time.monotonic() < deadline:
        time.sleep(0.5)
        rows = _ledger(stack.url, second_ids)
    # refused receipt-less: nothing claimed, so the ids stay free for the re-signed messages
    assert sorted(rows) == sorted((m, None, "FIRMA_INVALIDA", "REJECTED") for m in second_ids), (
        rows, stack.hub.log_tail(),
    )  # fmt: skip
    # quarantined with the reason, for the operator (the agency was told nothing)
    for message in _quarantined(stack.url, second_ids):
        assert "revocada desde" in message and "sisi outbox resign" in message, message
    assert _wait_receipts(settings, second_ids, 5) == second_ids  # no receipt for them
    assert _exactly_once(stack.url) == 20

    # a key the agreement does not accept is refused before anything is touched
    stray = tmp_path / "otra.key"
    stray.write_bytes(generate_keypair()[0])
    refused = subprocess.run(
        [SISI, "outbox", "resign", "--agreement", PAM, "--key", str(stray)],
        env=_env(settings), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "no acepta" in refused.stderr and "public_keys" in refused.stderr

    # 3. the agency re-signs what is still in its outbox with the new key
    resigned = subprocess.run(
        [SISI, "outbox", "resign", "--agreement", PAM, "--key", str(new_key_path), "--wait",
         "--timeout", "120"],
        env=_env(settings), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert resigned.returncode == 0, resigned.stdout + resigned.stderr + stack.hub.log_tail()
    assert f"{len(second_ids)} conjuntos firmados de nuevo" in resigned.stdout
    conn = open_state(settings, PAM)
    box = Outbox(conn)
    assert box.unreceipted_ids() == set()
    assert box.status(second.transaction_id).items == {"ACEPTADO": sent}
    conn.close()
    assert _exactly_once(stack.url) == 20 + sent
    claimed = [r for r in _ledger(stack.url, second_ids) if r[1] is not None]
    assert sorted(r[1] for r in claimed) == sorted(second_ids)  # each accepted once
    assert {r[3] for r in claimed} == {"ACCEPTED"}

    # 4. a message that got in with the old key, re-signed and sent again: the same message
    headers = reseal(load_private_key(new_key_path), in_flight.headers, in_flight.value)
    assert dict(headers)["sisi-key-id"] == key_id(new_public).encode()
    publish(settings.bootstrap_servers, [(agreement.changes_topic, in_flight.value, headers)])
    deadline = time.monotonic() + 60
    rows = _ledger(stack.url, {in_flight.message_id})
    while len(rows) < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
        rows = _ledger(stack.url, {in_flight.message_id})
    assert len(rows) == 2, (rows, stack.hub.log_tail())
    assert [r[1] for r in rows].count(in_flight.message_id) == 1  # one claim: a replay
    assert _exactly_once(stack.url) == 20 + sent
