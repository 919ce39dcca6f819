"""The chain as pure domain: canonical bytes, links, signatures and verification, no database."""

from __future__ import annotations

import dataclasses
import itertools
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


def build(key: Ed25519PrivateKey, count: int = 6) -> list[AuditEntry]:
    signer = lambda hashes: [key.sign(h) for h in hashes]  # noqa: E731
    return extend_chain(EMPTY, accepted("msg-1", count), AT, signer)


def test_genesis_links_and_hashes() -> None:
    key = Ed25519PrivateKey.generate()
    entries = build(key)
    assert [e.sequence for e in entries] == [1, 2, 3, 4, 5, 6]
    assert entries[0].prev_hash == GENESIS_HASH == bytes(32)
    for before, after in itertools.pairwise(entries):
        assert after.prev_hash == before.entry_hash
    for entry in entries:
        assert entry.entry_hash == chain_hash(entry.prev_hash, entry.canonical())
        key.public_key().verify(entry.signature, entry.entry_hash)
    assert entries[0].recorded_at == datetime(2025, 3, 1, 12, 30, 45, 123000, tzinfo=UTC)


def test_extend_continues_after_head() -> None:
    key = Ed25519PrivateKey.generate()
    first = build(key, 3)
    head = ChainHead(3, first[-1].entry_hash, first[-1].signature, AT)
    more = extend_chain(head, accepted("msg-2", 2), AT, lambda hs: [key.sign(h) for h in hs])
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


def test_idempotency_key_and_action_validation() -> None:
    event = accepted("m-9", 1)[0]
    assert event.idempotency_key == "BIENESTAR-01|m-9|ref-00000|ITEM_ACCEPTED"
    assert AuditEvent(actor="op", action=Action.PERSONAL_DATA_READ).idempotency_key is None
    with pytest.raises(ValueError):
        AuditEvent(actor="op", action="SOMETHING_ELSE")
    with pytest.raises(TypeError):
        AuditEvent(actor="op", action=Action.ITEM_ACCEPTED, details={"n": 1})  # type: ignore[dict-item]


def test_verify_ok_and_report_in_spanish() -> None:
    key = Ed25519PrivateKey.generate()
    entries = build(key)
    report = verify_chain(entries, public_key_of(key))
    assert report.ok and report.entries_checked == 6 and report.last_sequence == 6
    assert report.last_hash == entries[-1].entry_hash
    assert "íntegra" in report.render()


def test_edited_entry_is_named() -> None:
    key = Ed25519PrivateKey.generate()
    entries = build(key)
    entries[3] = dataclasses.replace(entries[3], actor="otro")
    report = verify_chain(entries, key.public_key())
    assert (report.first_bad_sequence, report.problem) == (4, Problem.EDITED)
    assert report.entries_checked == 3
    assert "editada" in (report.reason or "")


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
    swapped = [dataclasses.replace(e) for e in entries]
    swapped[2], swapped[3] = (
        dataclasses.replace(entries[3], sequence=3),
        dataclasses.replace(entries[2], sequence=4),
    )
    report = verify_chain(swapped, key.public_key())
    assert (report.first_bad_sequence, report.problem) == (3, Problem.REORDERED)
    out_of_order = [entries[0], entries[2], entries[1]]
    assert verify_chain(out_of_order, key.public_key()).problem == Problem.DELETED


def test_forged_entry_is_named() -> None:
    key, intruder = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    entries = build(key)
    forged = dataclasses.replace(entries[4], actor="intruso")
    forged = dataclasses.replace(forged, entry_hash=forged.computed_hash())
    entries[4] = dataclasses.replace(forged, signature=intruder.sign(forged.entry_hash))
    report = verify_chain(entries, key.public_key())
    assert (report.first_bad_sequence, report.problem) == (5, Problem.FORGED)
    assert report.entries_checked == 4 and report.last_sequence == 4
    assert "falsificada" in (report.reason or "")


def test_the_whole_chain_signed_by_another_key_fails_at_one() -> None:
    entries = build(Ed25519PrivateKey.generate())
    report = verify_chain(entries, Ed25519PrivateKey.generate().public_key())
    assert (report.first_bad_sequence, report.problem) == (1, Problem.FORGED)


def test_expected_head_catches_truncation_and_rewrite() -> None:
    key = Ed25519PrivateKey.generate()
    entries = build(key)
    head = ChainHead(6, entries[-1].entry_hash, entries[-1].signature, AT)
    assert verify_chain(entries, key.public_key(), expected_head=head).ok
    cut = verify_chain(entries[:4], key.public_key(), expected_head=head)
    assert (cut.first_bad_sequence, cut.problem) == (5, Problem.TRUNCATED)
    other = build(key)  # same events, same key, different signatures: an older head no longer fits
    older = ChainHead(3, other[2].entry_hash, other[2].signature, AT)
    assert verify_chain(entries, key.public_key(), expected_head=older).ok  # deterministic hashes
    rewritten = dataclasses.replace(older, entry_hash=bytes(32), signature=key.sign(bytes(32)))
    report = verify_chain(entries, key.public_key(), expected_head=rewritten)
    assert (report.first_bad_sequence, report.problem) == (3, Problem.EDITED)


def test_a_break_past_the_first_chunk_is_found() -> None:
    key = Ed25519PrivateKey.generate()
    signer = lambda hashes: [key.sign(h) for h in hashes]  # noqa: E731
    entries = extend_chain(EMPTY, accepted("big", 5000), AT, signer)
    entries[4500] = dataclasses.replace(entries[4500], signature=bytes(64))
    report = verify_chain(entries, key.public_key())
    assert (report.first_bad_sequence, report.problem) == (4501, Problem.FORGED)
    assert report.entries_checked == 4500
