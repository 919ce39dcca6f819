"""A hostile DBA and the idempotency keys: the key is not hashed, but every key the hub writes is a
function of its entry. Keys made by the real producers (worker, quarantine replay), tampering by
plain SQL, ``sisi audit verify`` as an operator runs it (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from hub.audit import Action, AuditEvent, AuditLog, load_or_create_hub_key
from hub.quarantine.replay import _event as replay_event
from hub.quarantine.store import QuarantinedItem
from hub.registry.linking import Relink
from hub.settings import Settings
from hub.worker.audit_events import relink_events
from hub.worker.changes import (
    ALTA,
    ContractVersion,
    _agreement_event,
    config_events,
    contract_events,
)
from tests.hub.audit.conftest import accepted, sisi

AGREEMENT = "BIENESTAR-01"


def _quarantined(entry_id: int) -> QuarantinedItem:
    return QuarantinedItem(
        id=entry_id,
        message_row=1,
        agreement_id=AGREEMENT,
        message_id="m-rechazado",
        reference_id=None,
        reason_code="FIRMA_INVALIDA",
        field=None,
        message="la firma no verificó",
        topic="sisi.padron.bienestar",
        partition=0,
        offset=7,
        received_at=dt.datetime(2026, 11, 24, tzinfo=dt.UTC),
        status="PENDIENTE",
        replayed_at=None,
        replayed_by=None,
    )


@pytest.fixture
def hub(db_url: str, audit_engine: Engine, tmp_path: Path) -> tuple[dict[str, str], AuditLog]:
    """A log with one entry of every kind that carries a key, made by the code that makes it."""
    data_dir = tmp_path / "var"
    log = AuditLog(audit_engine, load_or_create_hub_key(Settings(data_dir=data_dir)))
    log.append_many(accepted("m-1", 3))  # 1..3
    version = ContractVersion("mx.gob.sisi.padron.ChangeSet", 3, 41, "ab" * 32, None)
    events = [
        replay_event(_quarantined(4), "ana", dt.datetime(2026, 11, 24, tzinfo=dt.UTC)),  # 4
        _agreement_event(AGREEMENT, ALTA, "cd" * 32, None, {"change": ALTA, "sha256": "cd" * 32}),
        *contract_events([version], logged=()),  # 6
        *config_events({"mx.gob.sisi.padron.ChangeSet": "FULL"}, {}),  # 7
        AuditEvent(actor="ana", action=Action.PERSONAL_DATA_READ, purpose="ARCO", details={}),
    ]
    log.append_many(events)  # 4..8
    # 11: a broken file whose last good version stays in force (hub.worker.changes.kept_key)
    kept = {"file": "bienestar.yaml", "sha256": "cd" * 32, "failed_sha256": "ee" * 32}
    kept_key = f"convenio-vigente:{AGREEMENT}:{'cd' * 32}:{'ee' * 32}:5"
    relinks = [
        Relink("ref-9", "p-1", "p-2", None, "curp"),
        Relink("ref-9", "p-2", "p-3", None, "curp"),
    ]
    log.append_many(relink_events(AGREEMENT, "m-2", relinks, removed=()))  # 9, 10 (#2)
    loaded = AuditEvent(
        actor="a",
        action=Action.AGREEMENT_LOADED,
        agreement_id=AGREEMENT,
        details=kept,
        key=kept_key,
    )
    log.append(loaded)
    return {"SISI_DATABASE_URL": db_url, "SISI_DATA_DIR": str(data_dir)}, log


def _key(engine: Engine, sequence: int) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(
                text("SELECT idempotency_key FROM audit_log WHERE sequence = :s"), {"s": sequence}
            ).scalar_one()
        )


def _set_key(engine: Engine, sequence: int, key: str | None) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_log SET idempotency_key = :k WHERE sequence = :s"),
            {"k": key, "s": sequence},
        )


def _verify_fails_at(env: dict[str, str], sequence: int) -> str:
    result = sisi(env, "verify", "--json")
    assert result.returncode == 1, result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert (document["first_bad_sequence"], document["problem"]) == (sequence, "EDITED")
    assert "clave de idempotencia" in document["reason"]
    return str(document["reason"])


def test_a_log_with_every_kind_of_key_verifies(hub: tuple[dict[str, str], AuditLog]) -> None:
    """A quarantine replay's entry has an agreement and a message but an explicit key: it used to
    make `sisi audit verify` report tampering on an untouched log."""
    env, log = hub
    assert log.head().sequence == 11
    result = sisi(env, "verify")
    assert result.returncode == 0, result.stderr
    assert "11 entradas verificadas" in result.stdout


def test_a_message_key_moved_onto_another_entry_is_detected_and_would_hide_an_event(
    hub: tuple[dict[str, str], AuditLog], audit_engine: Engine
) -> None:
    env, log = hub
    future = accepted("m-futuro", 1)[0]
    assert future.idempotency_key is not None
    _set_key(audit_engine, 8, future.idempotency_key)  # on the personal-data read (no message)
    assert log.append(future) is None  # what the attack buys: the item's entry is never written
    reason = _verify_fails_at(env, 8)
    assert "m-futuro" in reason and "PERSONAL_DATA_READ" in reason


@pytest.mark.parametrize(
    ("sequence", "forged"),
    [
        (5, f"contrato-config:mx.gob.sisi.padron.ChangeSet:NONE:{7}"),  # agreement change
        (6, "contrato:mx.gob.sisi.padron.ChangeSet:4:" + "ef" * 32),  # contract registered
        (7, "contrato-config:mx.gob.sisi.padron.ChangeSet:NONE:7"),  # a future mode change
        (4, "cuarentena:99:reenviado:2026-11-24T00:00:00+00:00"),  # another quarantine entry
        (10, f"{AGREEMENT}|m-2|ref-9|RECORD_RELINKED#3"),  # the wrong occurrence
        (2, f"{AGREEMENT}|m-1|ref-00001|ITEM_ACCEPTED#2"),  # only refusals and relinks count
        (11, f"convenio-vigente:{AGREEMENT}:{'cd' * 32}:{'ff' * 32}:5"),  # another failed file
    ],
)
def test_an_explicit_key_changed_to_another_events_key_is_detected(
    hub: tuple[dict[str, str], AuditLog], audit_engine: Engine, sequence: int, forged: str
) -> None:
    env, _ = hub
    if sequence == 10:
        assert _key(audit_engine, 10).endswith("#2")
    _set_key(audit_engine, sequence, forged)
    reason = _verify_fails_at(env, sequence)
    assert repr(forged) in reason


@pytest.mark.parametrize("sequence", [4, 5, 6, 7])
def test_an_explicit_key_removed_is_detected(
    hub: tuple[dict[str, str], AuditLog], audit_engine: Engine, sequence: int
) -> None:
    env, _ = hub
    _set_key(audit_engine, sequence, None)
    _verify_fails_at(env, sequence)


def test_a_key_put_on_an_entry_that_has_none_is_detected(
    hub: tuple[dict[str, str], AuditLog], audit_engine: Engine
) -> None:
    env, _ = hub
    _set_key(audit_engine, 8, "cualquier-cosa")
    reason = _verify_fails_at(env, 8)
    assert "no pone clave" in reason
