"""A hostile DBA edits, deletes, reorders, inserts and re-signs audit entries with plain SQL;
``sisi audit verify`` (run as an operator runs it) must exit 1 naming the entry and what is
wrong, in Spanish, and never fail with a traceback (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text
from sqlalchemy.engine import Engine

from hub.audit import Action, AuditEvent, AuditLog, load_or_create_hub_key
from hub.settings import Settings
from tests.hub.audit.conftest import accepted, sisi


@pytest.fixture
def hub(db_url: str, audit_engine: Engine, tmp_path: Path) -> tuple[dict[str, str], AuditLog]:
    """Three batches of three (signed heads 3, 6, 9); entry 5 is a personal-data read."""
    data_dir = tmp_path / "var"
    log = AuditLog(audit_engine, load_or_create_hub_key(Settings(data_dir=data_dir)))
    log.append_many(accepted("m-1", 3))
    time.sleep(0.003)  # batches at different milliseconds (what tells a batch's end)
    log.append_many(
        [
            accepted("m-2", 1)[0],
            AuditEvent(
                actor="operador:ana",
                action=Action.PERSONAL_DATA_READ,
                purpose="aclaración ARCO folio 12",
                details={"subject": "persona-17", "command": "registry person"},
            ),
            accepted("m-2", 2)[1],
        ]
    )
    time.sleep(0.003)
    log.append_many(accepted("m-3", 3))
    return {"SISI_DATABASE_URL": db_url, "SISI_DATA_DIR": str(data_dir)}, log


def run_sql(engine: Engine, *statements: str, **params: object) -> None:
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement), params)


def failed(env: dict[str, str]) -> tuple[dict[str, object], str]:
    """``verify --json`` and ``verify`` of a log that must not verify: the document and stderr."""
    result = sisi(env, "verify", "--json")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    document = json.loads(result.stdout)
    human = sisi(env, "verify")
    assert human.returncode == 1 and "Traceback" not in human.stderr, human.stderr
    assert f"bitácora alterada en la entrada {document['first_bad_sequence']}" in human.stderr
    return document, human.stderr


def _later_stamp(engine: Engine, sequence: int, microseconds: int) -> None:
    if engine.dialect.name == "postgresql":
        run_sql(
            engine,
            f"UPDATE audit_log SET recorded_at = recorded_at + interval '{microseconds} "
            "microseconds' WHERE sequence = :s",
            s=sequence,
        )
        return
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT recorded_at FROM audit_log WHERE sequence = :s"), {"s": sequence}
        ).scalar_one()
    from datetime import datetime, timedelta

    moment = datetime.fromisoformat(stored) + timedelta(microseconds=microseconds)
    run_sql(
        engine,
        "UPDATE audit_log SET recorded_at = :v WHERE sequence = :s",
        v=moment.strftime("%Y-%m-%d %H:%M:%S.%f"),
        s=sequence,
    )


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("actor", "operador:otro"),
        ("action", "ITEM_REJECTED"),
        ("agreement_id", "OTRO-01"),
        ("agreement_id", ""),
        ("message_id", "m-otro"),
        ("reference_id", "ref-otra"),
        ("purpose", "otra finalidad"),
        ("purpose", None),
        ("details", '{"command":"registry person","subject":"persona-18"}'),
        ("details", '{"command": "registry person", "subject": "persona-17", "x": "1"}'),
    ],
)
def test_an_edited_column_names_the_entry(
    hub: tuple[dict[str, str], AuditLog], audit_engine: Engine, column: str, value: object
) -> None:
    env, _ = hub
    run_sql(audit_engine, f"UPDATE audit_log SET {column} = :v WHERE sequence = 5", v=value)
    document, _ = failed(env)
    assert (document["first_bad_sequence"], document["problem"]) == (5, "EDITED")
    assert document["entries_checked"] == 4


@pytest.mark.parametrize("microseconds", [1000, -3_600_000_000, 999, 1])
def test_an_edited_timestamp_is_detected_even_below_a_millisecond(
    hub: tuple[dict[str, str], AuditLog], audit_engine: Engine, microseconds: int
) -> None:
    """The chain hashes milliseconds; the hub never stores a fraction of one, so a stored
    fraction is an edit too (it used to verify)."""
    env, _ = hub
    _later_stamp(audit_engine, 5, microseconds)
    document, _ = failed(env)
    assert (document["first_bad_sequence"], document["problem"]) == (5, "EDITED")


@pytest.mark.parametrize(
    ("details", "says"),
    [
        ("esto no es json", "no es un objeto JSON de textos"),
        ('{"subject": 17}', "no es un objeto JSON de textos"),
        ('["persona-17"]', "no es un objeto JSON de textos"),
        ("null", "no es un objeto JSON de textos"),
    ],
)
def test_unreadable_details_are_named_not_a_traceback(
    hub: tuple[dict[str, str], AuditLog], audit_engine: Engine, details: str, says: str
) -> None:
    env, _ = hub
    run_sql(audit_engine, "UPDATE audit_log SET details = :v WHERE sequence = 5", v=details)
    document, stderr = failed(env)
    assert (document["first_bad_sequence"], document["problem"]) == (5, "EDITED")
    assert says in str(document["reason"]) and "details" in stderr
    listed = sisi(env, "list")  # the list still shows the log around the damaged row
    assert listed.returncode == 0 and "Traceback" not in listed.stderr, listed.stderr


def test_an_unparseable_timestamp_is_named_not_a_traceback(
    hub: tuple[dict[str, str], AuditLog], audit_engine: Engine
) -> None:
    if audit_engine.dialect.name == "postgresql":
        pytest.skip("a timestamptz column only holds valid timestamps")
    env, _ = hub
    run_sql(audit_engine, "UPDATE audit_log SET recorded_at = 'ayer' WHERE sequence = 5")
    document, _ = failed(env)
    assert (document["first_bad_sequence"], document["problem"]) == (5, "EDITED")
    assert "recorded_at ('ayer') no es una fecha y hora" in str(document["reason"])


@pytest.mark.parametrize("column", ["prev_hash", "entry_hash"])
def test_an_edited_hash_is_detected(
    hub: tuple[dict[str, str], AuditLog], audit_engine: Engine, column: str
) -> None:
    env, _ = hub
    run_sql(audit_engine, f"UPDATE audit_log SET {column} = :v WHERE sequence = 5", v=b"\x01" * 32)
    document, _ = failed(env)
    assert document["first_bad_sequence"] in (5, 6)  # a new entry_hash breaks 6's link


def test_signatures_swapped_between_batches_are_detected(
    hub: tuple[dict[str, str], AuditLog], audit_engine: Engine
) -> None:
    env, _ = hub
    run_sql(
        audit_engine,
        "UPDATE audit_log SET signature = (SELECT signature FROM audit_log WHERE sequence = 9) "
        "WHERE sequence = 3",
    )
    document, stderr = failed(env)
    assert (document["first_bad_sequence"], document["problem"]) == (1, "FORGED")
    assert "la firma de la entrada 3 no es de la llave del hub" in stderr


def test_a_truncated_signature_is_detected(
    hub: tuple[dict[str, str], AuditLog], audit_engine: Engine
) -> None:
    env, _ = hub
    run_sql(audit_engine, "UPDATE audit_log SET signature = :v WHERE sequence = 6", v=b"\x01\x02")
    document, _ = failed(env)
    assert (document["first_bad_sequence"], document["problem"]) == (4, "FORGED")


def test_a_deleted_middle_entry_is_named(
    hub: tuple[dict[str, str], AuditLog], audit_engine: Engine
) -> None:
    env, _ = hub
    run_sql(audit_engine, "DELETE FROM audit_log WHERE sequence = 5")
    document, stderr = failed(env)
    assert (document["first_bad_sequence"], document["problem"]) == (5, "DELETED")
    assert "falta(n) la(s) entrada(s) 5" in stderr


def test_a_deleted_tail_is_named(
    hub: tuple[dict[str, str], AuditLog], audit_engine: Engine
) -> None:
    env, _ = hub
    run_sql(audit_engine, "DELETE FROM audit_log WHERE sequence >= 8")
    document, _ = failed(env)
    assert (document["first_bad_sequence"], document["problem"]) == (7, "TRUNCATED")
    run_sql(audit_engine, "DELETE FROM audit_log WHERE sequence >= 7")  # a whole batch
    document, stderr = failed(env)
    assert (document["first_bad_sequence"], document["problem"]) == (7, "TRUNCATED")
    assert "la cabeza registrada es la 9" in stderr


def test_reordered_entries_are_named(
    hub: tuple[dict[str, str], AuditLog], audit_engine: Engine
) -> None:
    env, _ = hub
    run_sql(
        audit_engine,
        "UPDATE audit_log SET sequence = -1 WHERE sequence = 4",
        "UPDATE audit_log SET sequence = 4 WHERE sequence = 5",
        "UPDATE audit_log SET sequence = 5 WHERE sequence = -1",
    )
    document, _ = failed(env)
    assert (document["first_bad_sequence"], document["problem"]) == (4, "REORDERED")


def _insert(engine: Engine, entry: object, key: str | None = None) -> None:
    from hub.audit.store import audit_log

    assert dataclasses.is_dataclass(entry)
    row = {f.name: getattr(entry, f.name) for f in dataclasses.fields(entry)}
    row["details"] = json.dumps(dict(row["details"]), sort_keys=True, separators=(",", ":"))
    row["idempotency_key"] = key
    with engine.begin() as conn:
        conn.execute(audit_log.insert().values(**row))


def test_an_entry_appended_without_the_key_is_detected(
    hub: tuple[dict[str, str], AuditLog], audit_engine: Engine
) -> None:
    env, log = hub
    last = list(log.iter_entries())[-1]
    forged = dataclasses.replace(
        last, sequence=10, prev_hash=last.entry_hash, reference_id="ref-falsa", signature=None
    )
    forged = dataclasses.replace(forged, entry_hash=forged.computed_hash())
    _insert(audit_engine, forged, "BIENESTAR-01|m-3|ref-falsa|ITEM_ACCEPTED")
    document, _ = failed(env)
    assert (document["first_bad_sequence"], document["problem"]) == (10, "TRUNCATED")
    intruder = Ed25519PrivateKey.generate()
    run_sql(
        audit_engine,
        "UPDATE audit_log SET signature = :g WHERE sequence = 10",
        g=intruder.sign(forged.entry_hash),
    )
    document, _ = failed(env)
    assert (document["first_bad_sequence"], document["problem"]) == (10, "FORGED")


def test_the_whole_log_rehashed_and_signed_by_another_key_is_detected(
    hub: tuple[dict[str, str], AuditLog], audit_engine: Engine
) -> None:
    env, log = hub
    entries = list(log.iter_entries())
    intruder = Ed25519PrivateKey.generate()
    prev = bytes(32)
    rewritten = []
    for entry in entries:
        changed = dataclasses.replace(
            entry, prev_hash=prev, purpose=None if entry.sequence == 5 else entry.purpose
        )
        changed = dataclasses.replace(changed, entry_hash=changed.computed_hash())
        if changed.signature is not None:
            changed = dataclasses.replace(changed, signature=intruder.sign(changed.entry_hash))
        rewritten.append(changed)
        prev = changed.entry_hash
    run_sql(audit_engine, "DELETE FROM audit_log")
    for entry in rewritten:
        _insert(audit_engine, entry, entry.idempotency_key)
    last = rewritten[-1]
    run_sql(
        audit_engine,
        "UPDATE audit_chain_head SET entry_hash = :h, signature = :g",
        h=last.entry_hash,
        g=last.signature,
    )
    document, stderr = failed(env)
    assert (document["first_bad_sequence"], document["problem"]) == (1, "FORGED")
    assert "no es de la llave del hub" in stderr


@pytest.mark.parametrize("sequence", [3, 6])
def test_a_signature_removed_from_a_batch_in_the_middle_is_detected(
    hub: tuple[dict[str, str], AuditLog], audit_engine: Engine, sequence: int
) -> None:
    """The later batches' signatures still vouch for the content, but the row was edited (it
    used to verify). A batch shares one timestamp: its last entry is the one before a change."""
    env, _ = hub
    with audit_engine.connect() as conn:
        stamps = conn.execute(
            text("SELECT recorded_at FROM audit_log WHERE sequence IN (:a, :b)"),
            {"a": sequence, "b": sequence + 1},
        ).scalars()
        assert len(set(stamps)) == 2  # the batches were written at different milliseconds
    run_sql(audit_engine, "UPDATE audit_log SET signature = NULL WHERE sequence = :s", s=sequence)
    document, stderr = failed(env)
    assert (document["first_bad_sequence"], document["problem"]) == (sequence, "EDITED")
    assert "no tiene firma, pero es la última de su lote" in stderr


@pytest.mark.parametrize("how", ["deleted", "emptied", "older"])
def test_a_stored_head_behind_the_log_is_detected(
    hub: tuple[dict[str, str], AuditLog], audit_engine: Engine, how: str
) -> None:
    """The hub moves the stored head in the transaction that appends; a head row that was
    deleted, reset or rolled back to an older genuine head while the entries stay used to pass
    (and the hub's next append fails on it)."""
    env, log = hub
    sixth = list(log.iter_entries())[5]
    statements = {
        "deleted": "DELETE FROM audit_chain_head",
        "emptied": "UPDATE audit_chain_head SET sequence = 0",
        # (with the head signature of the newer head dropped: it would name entry 8)
        "older": "UPDATE audit_chain_head SET sequence = 6, entry_hash = :h, signature = :g, "
        "head_signature = NULL, key_id = NULL",
    }
    run_sql(audit_engine, statements[how], h=sixth.entry_hash, g=sixth.signature)
    document, stderr = failed(env)
    behind = 6 if how == "older" else 0
    assert (document["first_bad_sequence"], document["problem"]) == (behind + 1, "EDITED")
    assert f"la cabeza registrada (audit_chain_head) es la {behind}" in stderr
