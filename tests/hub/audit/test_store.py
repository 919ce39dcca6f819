"""The audit log on SQLite and PostgreSQL: appends, idempotency, tampering done with plain SQL."""

from __future__ import annotations

import dataclasses

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text
from sqlalchemy.engine import Engine

from hub.audit import Action, AuditEvent, AuditLog, Problem, verify_chain
from hub.audit.store import PersonalDataError
from tests.hub.audit.conftest import accepted


def check(log: AuditLog):  # type: ignore[no-untyped-def]
    return verify_chain(log.iter_entries(), log.public_key, expected_head=log.head())


def sql(engine: Engine, *statements: str) -> None:
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


def test_append_then_verify(log: AuditLog) -> None:
    assert log.head().is_empty
    first = log.append_many(accepted("m-1", 5))
    second = log.append_many(accepted("m-2", 3))
    assert [e.sequence for e in first + second] == list(range(1, 9))
    stored = list(log.iter_entries())
    assert stored == first + second
    head = log.head()
    assert (head.sequence, head.entry_hash, head.signature) == (
        8,
        second[-1].entry_hash,
        second[-1].signature,
    )
    assert head.at == second[-1].recorded_at
    report = check(log)
    assert report.ok and report.entries_checked == 8


def test_replaying_a_batch_adds_nothing(log: AuditLog) -> None:
    batch = accepted("m-1", 10)
    assert len(log.append_many(batch)) == 10
    assert log.append_many(batch) == []
    assert log.append(batch[0]) is None
    mixed = log.append_many([*accepted("m-1", 12), *accepted("m-1", 12)])
    assert [e.reference_id for e in mixed] == ["ref-00010", "ref-00011"]
    assert log.head().sequence == 12
    assert check(log).ok


def test_events_without_message_are_always_recorded(log: AuditLog) -> None:
    event = AuditEvent(actor="operador", action=Action.AGREEMENT_LOADED, details={"id": "X"})
    assert log.append(event) is not None
    assert log.append(event) is not None
    assert log.head().sequence == 2


def test_read_personal_records_who_what_for(log: AuditLog) -> None:
    entry = log.read_personal("operador:ana", "solicitud ARCO de acceso", "persona-000123")
    assert entry.action == Action.PERSONAL_DATA_READ
    assert (entry.actor, entry.purpose, entry.details["subject"]) == (
        "operador:ana",
        "solicitud ARCO de acceso",
        "persona-000123",
    )
    assert list(log.iter_entries()) == [entry]
    with pytest.raises(ValueError, match="finalidad"):
        log.read_personal("operador:ana", "  ", "persona-000123")
    with pytest.raises(ValueError, match="CURP"):
        log.read_personal("operador:ana", "consulta", "GODE561231HDFRRN09")


def test_edit_by_sql_is_detected_at_that_entry(log: AuditLog, audit_engine: Engine) -> None:
    log.append_many(accepted("m-1", 8))
    sql(audit_engine, "UPDATE audit_log SET reference_id = 'otra' WHERE sequence = 5")
    report = check(log)
    assert (report.first_bad_sequence, report.problem) == (5, Problem.EDITED)
    assert report.entries_checked == 4


def test_edit_of_details_is_detected(log: AuditLog, audit_engine: Engine) -> None:
    log.append_many(accepted("m-1", 4))
    sql(audit_engine, """UPDATE audit_log SET details = '{"programa":"U009"}' WHERE sequence = 2""")
    assert check(log).first_bad_sequence == 2


def test_deleted_middle_row_is_detected(log: AuditLog, audit_engine: Engine) -> None:
    log.append_many(accepted("m-1", 8))
    sql(audit_engine, "DELETE FROM audit_log WHERE sequence = 4")
    report = check(log)
    assert (report.first_bad_sequence, report.problem) == (4, Problem.DELETED)
    assert "borraron" in (report.reason or "")


def test_deleted_tail_is_detected_against_the_head(log: AuditLog, audit_engine: Engine) -> None:
    log.append_many(accepted("m-1", 4))
    log.append_many(accepted("m-2", 4))
    sql(audit_engine, "DELETE FROM audit_log WHERE sequence >= 7")
    report = check(log)  # the second batch lost its signed head: nothing vouches for 5..6
    assert (report.first_bad_sequence, report.problem) == (5, Problem.TRUNCATED)
    assert report.entries_checked == 4


def test_deleted_last_batch_and_head_moved_back_needs_the_published_head(
    log: AuditLog, audit_engine: Engine
) -> None:
    log.append_many(accepted("m-1", 4))
    older = log.head()
    log.append_many(accepted("m-2", 4))
    published = log.head()
    sql(audit_engine, "DELETE FROM audit_log WHERE sequence >= 5")
    with audit_engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_chain_head SET sequence = 4, entry_hash = :h, signature = :s"),
            {"h": older.entry_hash, "s": older.signature},
        )
    # the head signature still covers entry 8: moving the head back without it shows
    assert check(log).problem == Problem.FORGED
    with audit_engine.begin() as conn:  # an attacker who also drops it (a head of the old form)
        conn.execute(text("UPDATE audit_chain_head SET head_signature = NULL, key_id = NULL"))
    assert check(log).ok  # a clean cut at a batch boundary looks whole from inside the database
    report = verify_chain(log.iter_entries(), log.public_key, expected_head=published)
    assert (report.first_bad_sequence, report.problem) == (5, Problem.TRUNCATED)


def test_removed_batch_signature_is_detected(log: AuditLog, audit_engine: Engine) -> None:
    log.append_many(accepted("m-1", 5))
    sql(audit_engine, "UPDATE audit_log SET signature = NULL WHERE sequence = 5")
    report = check(log)
    assert (report.first_bad_sequence, report.problem) == (1, Problem.TRUNCATED)


def test_batch_rewritten_by_sql_with_recomputed_hashes_is_detected(
    log: AuditLog, audit_engine: Engine
) -> None:
    log.append_many(accepted("m-1", 3))
    log.append_many(accepted("m-2", 4))  # sequences 4..7, signed at 7
    log.append_many(accepted("m-3", 2))
    entries = list(log.iter_entries())
    prev = entries[3].prev_hash
    with audit_engine.begin() as conn:
        for index in range(3, 9):  # edit entry 5, then re-hash everything after it, as an
            entry = entries[index]  # attacker with database access but without the key would
            if index == 4:
                entry = dataclasses.replace(entry, reference_id="otra")
            entry = dataclasses.replace(entry, prev_hash=prev)
            entry = dataclasses.replace(entry, entry_hash=entry.computed_hash())
            conn.execute(
                text(
                    "UPDATE audit_log SET reference_id = :r, prev_hash = :p, entry_hash = :h "
                    "WHERE sequence = :s"
                ),
                {
                    "r": entry.reference_id,
                    "p": entry.prev_hash,
                    "h": entry.entry_hash,
                    "s": entry.sequence,
                },
            )
            prev = entry.entry_hash
        conn.execute(text("UPDATE audit_chain_head SET entry_hash = :h"), {"h": prev})
    report = check(log)
    assert (report.first_bad_sequence, report.problem) == (4, Problem.FORGED)
    assert report.entries_checked == 3
    assert "4 a 7" in (report.reason or "")


def test_swapped_sequences_are_detected(log: AuditLog, audit_engine: Engine) -> None:
    log.append_many(accepted("m-1", 8))
    sql(
        audit_engine,
        "UPDATE audit_log SET sequence = -1 WHERE sequence = 3",
        "UPDATE audit_log SET sequence = 3 WHERE sequence = 6",
        "UPDATE audit_log SET sequence = 6 WHERE sequence = -1",
    )
    report = check(log)
    assert (report.first_bad_sequence, report.problem) == (3, Problem.REORDERED)


def test_forged_signature_is_detected(log: AuditLog, audit_engine: Engine) -> None:
    for message in ("m-1", "m-2", "m-3"):
        log.append_many(accepted(message, 2))  # signed heads at 2, 4, 6
    entries = list(log.iter_entries())
    intruder = Ed25519PrivateKey.generate()
    with audit_engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_log SET signature = :sig WHERE sequence = 4"),
            {"sig": intruder.sign(entries[3].entry_hash)},
        )
    report = check(log)
    assert (report.first_bad_sequence, report.problem) == (3, Problem.FORGED)
    assert report.entries_checked == 2


def test_only_each_batch_head_is_signed(log: AuditLog, audit_engine: Engine) -> None:
    log.append_many(accepted("m-1", 3))
    log.append(accepted("m-2", 1)[0])
    log.append_many(accepted("m-3", 4))
    with audit_engine.connect() as conn:
        signed = conn.execute(
            text("SELECT sequence FROM audit_log WHERE signature IS NOT NULL ORDER BY sequence")
        ).scalars()
        assert list(signed) == [3, 4, 8]
    assert check(log).ok


def test_sign_each_entry_log_verifies(audit_engine: Engine, hub_key: Ed25519PrivateKey) -> None:
    log = AuditLog(audit_engine, hub_key, sign_each_entry=True)
    entries = log.append_many(accepted("m-1", 5))
    assert all(entry.is_signed for entry in entries)
    log_batched = AuditLog(audit_engine, hub_key)
    log_batched.append_many(accepted("m-2", 5))
    assert check(log_batched).ok and check(log_batched).entries_checked == 10


def test_log_signed_by_another_key_does_not_verify(
    audit_engine: Engine, hub_key: Ed25519PrivateKey
) -> None:
    AuditLog(audit_engine, Ed25519PrivateKey.generate()).append_many(accepted("m-1", 3))
    log = AuditLog(audit_engine, hub_key)
    report = verify_chain(log.iter_entries(), hub_key.public_key())
    assert (report.first_bad_sequence, report.problem) == (1, Problem.FORGED)


def test_large_batch_streams_back_intact(log: AuditLog) -> None:
    entries = log.append_many(accepted("grande", 3000))
    assert entries[-1].sequence == 3000
    assert log.entries_for([1, 1500, 3000, 4000]) == [entries[0], entries[1499], entries[2999]]
    assert sum(1 for _ in log.iter_entries(start=2001, batch_size=250)) == 1000
    assert check(log).ok


def test_append_in_callers_transaction_rolls_back_with_it(
    log: AuditLog, audit_engine: Engine
) -> None:
    log.append_many(accepted("m-1", 2))
    with audit_engine.connect() as conn:
        with conn.begin():
            added = log.append_in(conn, accepted("m-2", 3))
            assert [e.sequence for e in added] == [3, 4, 5]
        with conn.begin() as transaction:
            log.append_in(conn, accepted("m-3", 4))
            transaction.rollback()
    assert log.head().sequence == 5
    assert {e.message_id for e in log.iter_entries()} == {"m-1", "m-2"}
    assert check(log).ok


def test_batch_with_a_logged_key_after_new_ones_takes_no_sequence(
    log: AuditLog, audit_engine: Engine
) -> None:
    # The first key is new, so the batch is written optimistically; the unique key refuses it,
    # the attempt is undone and the batch is appended again without the logged event.
    log.append_many(accepted("m-1", 3))
    batch = [*accepted("m-2", 2), accepted("m-1", 3)[1], *accepted("m-3", 2)]
    added = log.append_many(batch)
    assert [(e.sequence, e.message_id) for e in added] == [
        (4, "m-2"),
        (5, "m-2"),
        (6, "m-3"),
        (7, "m-3"),
    ]
    with audit_engine.connect() as conn:
        added_in = log.append_in(conn, [*accepted("m-4", 1), accepted("m-2", 1)[0]])
        conn.commit()
    assert [(e.sequence, e.message_id) for e in added_in] == [(8, "m-4")]
    assert log.head().sequence == 8
    assert [e.sequence for e in log.iter_entries()] == list(range(1, 9))
    assert check(log).ok


@pytest.mark.parametrize("purpose", ["x", "…", "...", "p1", "-- 12"])
def test_a_purpose_that_names_nothing_is_refused_and_nothing_recorded(
    log: AuditLog, purpose: str
) -> None:
    before = log.head().sequence
    with pytest.raises(PersonalDataError, match="no dice para qué"):
        log.read_personal("operador:ana", purpose, "persona-000123")
    assert log.head().sequence == before
