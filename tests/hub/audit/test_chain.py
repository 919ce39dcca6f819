"""The chain as pure domain: canonical bytes, links, batch-head signatures and verification."""

from __future__ import annotations

import dataclasses
import itertools
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from hub.agreements.keys import public_key_of
from hub.audit import (
    GENESIS_HASH,
    Action,
    AuditEntry,
    AuditEvent,
    ChainHead,
    Problem,
    canonical_bytes,
    chain_hash,
    extend_chain,
    verify_chain,
)
from tests.hub.audit.conftest import accepted

EMPTY = ChainHead(0, GENESIS_HASH, b"", None)
AT = datetime(2025, 3, 1, 12, 30, 45, 123456, tzinfo=UTC)


def signer(key: Ed25519PrivateKey):  # type: ignore[no-untyped-def]
    return lambda hashes: [key.sign(h) for h in hashes]


def build(key: Ed25519PrivateKey, count: int = 6, batch: int | None = None) -> list[AuditEntry]:
    """``count`` entries appended in batches of ``batch`` (one batch by default)."""
    size = batch or count
    events = accepted("msg-1", count)
    entries: list[AuditEntry] = []
    head = EMPTY
    for start in range(0, count, size):
        more = extend_chain(head, events[start : start + size], AT, signer(key))
        head = ChainHead(more[-1].sequence, more[-1].entry_hash, more[-1].signature or b"", AT)
        entries.extend(more)
    return entries


def rewrite(entries: list[AuditEntry], index: int, **changes: str) -> list[AuditEntry]:
    """What an attacker without the key can do: edit one entry and recompute every later hash."""
    out = list(entries[:index])
    prev = out[-1].entry_hash if out else GENESIS_HASH
    for position, entry in enumerate(entries[index:]):
        entry = dataclasses.replace(entry, prev_hash=prev, **(changes if position == 0 else {}))
        entry = dataclasses.replace(entry, entry_hash=entry.computed_hash())
        out.append(entry)
        prev = entry.entry_hash
    return out


def test_genesis_links_hashes_and_one_signature_per_batch() -> None:
    key = Ed25519PrivateKey.generate()
    entries = build(key, 9, batch=4)
    assert [e.sequence for e in entries] == list(range(1, 10))
    assert entries[0].prev_hash == GENESIS_HASH == bytes(32)
    for before, after in itertools.pairwise(entries):
        assert after.prev_hash == before.entry_hash
    for entry in entries:
        assert entry.entry_hash == chain_hash(entry.prev_hash, entry.canonical())
    assert [e.sequence for e in entries if e.is_signed] == [4, 8, 9]
    for entry in entries:
        if entry.signature is not None:
            key.public_key().verify(entry.signature, entry.entry_hash)
    assert entries[0].recorded_at == datetime(2025, 3, 1, 12, 30, 45, 123000, tzinfo=UTC)


def test_sign_each_signs_every_entry_and_still_verifies() -> None:
    key = Ed25519PrivateKey.generate()
    entries = extend_chain(EMPTY, accepted("m", 5), AT, signer(key), sign_each=True)
    assert all(e.is_signed for e in entries)
    assert verify_chain(entries, key.public_key()).ok
    entries[2] = dataclasses.replace(entries[2], signature=bytes(64))
    report = verify_chain(entries, key.public_key())
    assert (report.first_bad_sequence, report.problem, report.entries_checked) == (
        3,
        Problem.FORGED,
        2,
    )


def test_extend_continues_after_head() -> None:
    key = Ed25519PrivateKey.generate()
    first = build(key, 3)
    head = ChainHead(3, first[-1].entry_hash, first[-1].signature or b"", AT)
    more = extend_chain(head, accepted("msg-2", 2), AT, signer(key))
    assert [e.sequence for e in more] == [4, 5]
    assert more[0].prev_hash == first[-1].entry_hash
    assert verify_chain([*first, *more], key.public_key()).ok


def test_canonical_bytes_are_deterministic_and_utc() -> None:
    fields = dict(
        sequence=7,
        actor="operador:ana",
        action="PERSONAL_DATA_READ",
        agreement_id=None,
        message_id=None,
        reference_id=None,
        purpose="aclaración ARCO",
    )
    mexico = timezone(timedelta(hours=-6))
    a = canonical_bytes(recorded_at=AT, details={"b": "2", "a": "1"}, **fields)
    b = canonical_bytes(
        recorded_at=AT.astimezone(mexico).replace(microsecond=123999),
        details={"a": "1", "b": "2"},
        **fields,
    )
    assert a == b
    assert b'"recorded_at":"2025-03-01T12:30:45.123Z"' in a
    assert "aclaración".encode() in a


TEXT = st.text(max_size=12)  # any code point but lone surrogates, which UTF-8 cannot carry
OPTIONAL = st.none() | TEXT


@given(
    sequence=st.integers(min_value=1, max_value=2**62),
    actor=TEXT,
    agreement=OPTIONAL,
    message=OPTIONAL,
    reference=OPTIONAL,
    purpose=OPTIONAL,
    details=st.dictionaries(TEXT, TEXT, max_size=5),
)
def test_canonical_bytes_are_exactly_sorted_compact_json(
    sequence: int,
    actor: str,
    agreement: str | None,
    message: str | None,
    reference: str | None,
    purpose: str | None,
    details: dict[str, str],
) -> None:
    # The published definition of the canonical form: anyone can recompute it with a JSON library.
    document = {
        "sequence": sequence,
        "recorded_at": "2025-03-01T12:30:45.123Z",
        "actor": actor,
        "action": "ITEM_REJECTED",
        "agreement_id": agreement,
        "message_id": message,
        "reference_id": reference,
        "purpose": purpose,
        "details": details,
    }
    reference_bytes = json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")
    assert (
        canonical_bytes(
            sequence=sequence,
            recorded_at=AT,
            actor=actor,
            action="ITEM_REJECTED",
            agreement_id=agreement,
            message_id=message,
            reference_id=reference,
            purpose=purpose,
            details=details,
        )
        == reference_bytes
    )


@given(st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=6))
def test_details_order_never_changes_the_hash(details: dict[str, str]) -> None:
    reversed_details = dict(reversed(list(details.items())))
    common = dict(
        sequence=1,
        recorded_at=AT,
        actor="x",
        action="ITEM_ACCEPTED",
        agreement_id="A",
        message_id="m",
        reference_id="r",
        purpose=None,
    )
    assert canonical_bytes(details=details, **common) == canonical_bytes(
        details=reversed_details, **common
    )


def test_idempotency_key_and_event_validation() -> None:
    event = accepted("m-9", 1)[0]
    assert event.idempotency_key == "BIENESTAR-01|m-9|ref-00000|ITEM_ACCEPTED"
    assert type(event.action) is str
    assert AuditEvent(actor="op", action="ITEM_ACCEPTED") == AuditEvent(
        actor="op", action=Action.ITEM_ACCEPTED
    )
    assert AuditEvent(actor="op", action=Action.PERSONAL_DATA_READ).idempotency_key is None
    with pytest.raises(ValueError):
        AuditEvent(actor="op", action="SOMETHING_ELSE")
    with pytest.raises(ValueError, match="actor"):
        AuditEvent(actor="", action=Action.ITEM_ACCEPTED)
    with pytest.raises(ValueError, match="message_id"):
        AuditEvent(actor="op", action=Action.ITEM_ACCEPTED, message_id="x" * 256)
    with pytest.raises(TypeError):
        AuditEvent(actor="op", action=Action.ITEM_ACCEPTED, details={"n": 1})  # type: ignore[dict-item]


def test_verify_ok_and_report_in_spanish() -> None:
    key = Ed25519PrivateKey.generate()
    entries = build(key, 10, batch=3)
    report = verify_chain(entries, public_key_of(key))
    assert report.ok and report.entries_checked == 10 and report.last_sequence == 10
    assert report.last_hash == entries[-1].entry_hash
    assert "íntegra" in report.render()
    assert verify_chain([], key.public_key()).ok


def test_edited_entry_is_named() -> None:
    key = Ed25519PrivateKey.generate()
    entries = build(key)
    entries[3] = dataclasses.replace(entries[3], actor="otro")
    report = verify_chain(entries, key.public_key())
    assert (report.first_bad_sequence, report.problem) == (4, Problem.EDITED)
    assert report.entries_checked == 3
    assert "editada" in (report.reason or "")


def test_rewritten_batch_with_recomputed_hashes_fails_at_its_signature() -> None:
    key = Ed25519PrivateKey.generate()
    entries = build(key, 12, batch=4)  # heads at 4, 8, 12
    tampered = rewrite(entries, 5, actor="intruso")  # entry 6 edited, 6..12 re-hashed
    report = verify_chain(tampered, key.public_key())
    # The head of entry 8 no longer matches its signature: nothing vouches for 5..8.
    assert (report.first_bad_sequence, report.problem) == (5, Problem.FORGED)
    assert (report.entries_checked, report.last_sequence) == (4, 4)
    assert report.last_hash == entries[3].entry_hash
    assert "5 a 8" in (report.reason or "")


def test_rewritten_batch_resigned_by_an_intruder_is_forged() -> None:
    key, intruder = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    entries = rewrite(build(key, 8, batch=4), 6, reference_id="otra")
    for index in (3, 7):  # the attacker signs every head it touched, with its own key
        entries[index] = dataclasses.replace(
            entries[index], signature=intruder.sign(entries[index].entry_hash)
        )
    report = verify_chain(entries, key.public_key())
    assert (report.first_bad_sequence, report.problem) == (1, Problem.FORGED)


def test_signature_forged_on_an_unsigned_entry_is_named() -> None:
    key, intruder = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    entries = build(key, 8, batch=4)
    entries[5] = dataclasses.replace(entries[5], signature=intruder.sign(entries[5].entry_hash))
    report = verify_chain(entries, key.public_key())
    assert (report.first_bad_sequence, report.problem) == (5, Problem.FORGED)
    assert "falsific" in (report.reason or "")


def test_deleted_entries_are_named() -> None:
    key = Ed25519PrivateKey.generate()
    entries = build(key)
    report = verify_chain(entries[:2] + entries[4:], key.public_key())
    assert (report.first_bad_sequence, report.problem) == (3, Problem.DELETED)
    assert "3 a 4" in (report.reason or "")
    assert verify_chain(entries[1:], key.public_key()).first_bad_sequence == 1


def test_reordered_entries_are_named() -> None:
    key = Ed25519PrivateKey.generate()
    entries = build(key)
    swapped = list(entries)
    swapped[2], swapped[3] = (
        dataclasses.replace(entries[3], sequence=3),
        dataclasses.replace(entries[2], sequence=4),
    )
    report = verify_chain(swapped, key.public_key())
    assert (report.first_bad_sequence, report.problem) == (3, Problem.REORDERED)
    out_of_order = [entries[0], entries[2], entries[1]]
    assert verify_chain(out_of_order, key.public_key()).problem == Problem.DELETED


def test_the_whole_chain_signed_by_another_key_fails_at_one() -> None:
    entries = build(Ed25519PrivateKey.generate(), 9, batch=3)
    report = verify_chain(entries, Ed25519PrivateKey.generate().public_key())
    assert (report.first_bad_sequence, report.problem, report.entries_checked) == (
        1,
        Problem.FORGED,
        0,
    )


def test_a_log_ending_unsigned_was_cut_or_padded() -> None:
    key = Ed25519PrivateKey.generate()
    entries = build(key, 10, batch=4)  # heads at 4, 8, 10
    cut = verify_chain(entries[:6], key.public_key())  # the end of the second batch deleted
    assert (cut.first_bad_sequence, cut.problem, cut.entries_checked) == (5, Problem.TRUNCATED, 4)
    assert "sin firma" in (cut.reason or "")
    assert verify_chain(entries[:8], key.public_key()).ok  # a batch boundary: see the head test
    assert verify_chain(entries[:6], key.public_key(), require_signed_end=False).ok
    stripped = [*entries[:9], dataclasses.replace(entries[9], signature=None)]
    report = verify_chain(stripped, key.public_key())
    assert (report.first_bad_sequence, report.problem) == (9, Problem.TRUNCATED)
    padded = extend_chain(
        ChainHead(10, entries[9].entry_hash, b"", AT), accepted("falso", 2), AT, lambda h: [b""]
    )
    padded[-1] = dataclasses.replace(padded[-1], signature=None)
    report = verify_chain([*entries, *padded], key.public_key())
    assert (report.first_bad_sequence, report.problem) == (11, Problem.TRUNCATED)


def test_expected_head_catches_truncation_and_rewrite() -> None:
    key = Ed25519PrivateKey.generate()
    entries = build(key, 8, batch=4)
    head = ChainHead(8, entries[-1].entry_hash, entries[-1].signature or b"", AT)
    assert verify_chain(entries, key.public_key(), expected_head=head).ok
    cut = verify_chain(entries[:4], key.public_key(), expected_head=head)  # a whole batch gone
    assert (cut.first_bad_sequence, cut.problem) == (5, Problem.TRUNCATED)
    older = ChainHead(4, entries[3].entry_hash, entries[3].signature or b"", AT)
    assert verify_chain(entries, key.public_key(), expected_head=older).ok
    rewritten = dataclasses.replace(older, entry_hash=bytes(32), signature=key.sign(bytes(32)))
    report = verify_chain(entries, key.public_key(), expected_head=rewritten)
    assert (report.first_bad_sequence, report.problem) == (4, Problem.EDITED)
    unsigned_head = dataclasses.replace(head, signature=bytes(64))
    report = verify_chain(entries, key.public_key(), expected_head=unsigned_head)
    assert report.problem == Problem.FORGED


def test_a_rewrite_past_the_first_chunk_is_found() -> None:
    key = Ed25519PrivateKey.generate()
    entries = build(key, 5000, batch=1000)  # the run 4001..5000 crosses a 4096-entry chunk
    report = verify_chain(rewrite(entries, 4500, actor="intruso"), key.public_key())
    assert (report.first_bad_sequence, report.problem) == (4001, Problem.FORGED)
    assert report.entries_checked == 4000
    entries[4500] = dataclasses.replace(entries[4500], actor="intruso")
    report = verify_chain(entries, key.public_key())
    assert (report.first_bad_sequence, report.problem) == (4501, Problem.EDITED)
