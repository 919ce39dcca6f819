"""The head signature covers what a head claims; a head with a changed sequence is refused, and
a head of the old form is evidence of its sequence only through the log (no database here)."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import fastavro
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.audit import CHAIN_HEAD_SUBJECT, GENESIS_HASH, ChainHead, Problem, extend_chain
from hub.audit.chain import AuditEntry
from hub.audit.headsig import (
    HEAD_DOMAIN,
    HeadForm,
    fingerprint,
    head_form,
    head_message,
    head_signature_valid,
    sign_head,
)
from hub.audit.publish import head_from_record, head_to_record
from hub.audit.verify import verify_chain
from hub.settings import Settings
from tests.hub.audit.conftest import accepted

AT = datetime(2026, 11, 25, 4, 0, 0, 123000, tzinfo=UTC)


def chain(key: Ed25519PrivateKey, batches: int = 3, size: int = 3) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    head = ChainHead(0, GENESIS_HASH, b"", None)
    for batch in range(batches):
        more = extend_chain(
            head,
            accepted(f"m-{batch}", size),
            AT + timedelta(seconds=batch),
            lambda hashes: [key.sign(h) for h in hashes],
        )
        entries += more
        last = more[-1]
        assert last.signature is not None
        head = ChainHead(last.sequence, last.entry_hash, last.signature, last.recorded_at)
    return entries


def signed_head(key: Ed25519PrivateKey, entry: AuditEntry) -> ChainHead:
    assert entry.signature is not None
    signature, signer = sign_head(key, entry.sequence, entry.entry_hash, entry.recorded_at)
    return ChainHead(
        entry.sequence, entry.entry_hash, entry.signature, entry.recorded_at, signature, signer
    )


def test_the_head_signature_covers_sequence_hash_time_and_key() -> None:
    key = Ed25519PrivateKey.generate()
    entry = chain(key)[5]
    head = signed_head(key, entry)
    assert head_form(head) is HeadForm.SIGNED_HEAD
    assert head_signature_valid(key.public_key(), head)
    message = head_message(6, entry.entry_hash, entry.recorded_at, fingerprint(key))
    assert message.startswith(HEAD_DOMAIN) and b"\n6\n" in message
    assert message.endswith(b"2026-11-25T04:00:01.123Z\n" + fingerprint(key).encode())
    for changed in (
        replace(head, sequence=5),
        replace(head, entry_hash=bytes(32)),
        replace(head, at=head.at + timedelta(milliseconds=1) if head.at else None),
        replace(head, key_id="0123456789abcdef"),
    ):
        assert not head_signature_valid(key.public_key(), changed)
    other = Ed25519PrivateKey.generate()
    assert not head_signature_valid(other.public_key(), head)
    # the batch signature alone (the old form) says nothing about the sequence
    assert head_form(replace(head, head_signature=None)) is HeadForm.HASH_ONLY


def test_a_published_head_with_a_changed_sequence_is_refused() -> None:
    key = Ed25519PrivateKey.generate()
    entries = chain(key)
    genuine = signed_head(key, entries[8])  # the head of entry 9
    assert verify_chain(entries, key.public_key(), published_head=genuine).ok
    relabelled = replace(genuine, sequence=6)  # someone republishes it as the head of 6
    report = verify_chain(entries, key.public_key(), published_head=relabelled)
    assert report.ok and report.published_count == 0  # the log is not blamed for the head
    (refusal,) = report.refused_heads
    assert refusal.sequence == 6
    assert "la cabeza fue alterada (su secuencia" in refusal.reason
    assert "reescrita" not in refusal.reason
    # one hex digit of its hash changed: the same (README: refused as altered)
    digit = bytearray(genuine.entry_hash)
    digit[0] ^= 0x01
    report = verify_chain(
        entries, key.public_key(), published_head=replace(genuine, entry_hash=bytes(digit))
    )
    assert report.ok and [r.sequence for r in report.refused_heads] == [9]
    # while the stored head of the log is the log's own: altered, it is the log that is
    report = verify_chain(entries, key.public_key(), expected_head=relabelled)
    assert report.problem == Problem.FORGED


def test_an_old_form_head_with_a_changed_sequence_is_refused_without_blaming_the_log() -> None:
    key = Ed25519PrivateKey.generate()
    entries = chain(key)
    nine = entries[8]
    assert nine.signature is not None
    old = ChainHead(nine.sequence, nine.entry_hash, nine.signature, nine.recorded_at)
    report = verify_chain(entries, key.public_key(), published_head=old)
    assert report.ok and report.published_old_form == 1
    assert "1 de forma antigua v1" in report.render()
    relabelled = replace(old, sequence=6)
    report = verify_chain(entries, key.public_key(), published_head=relabelled)
    assert report.ok  # the log holds what the hub signed...
    assert report.published_count == 0  # ...and the head is not counted as evidence
    (refusal,) = report.refused_heads
    assert refusal.sequence == 6
    assert "el hash que el hub firmó es el de la entrada 9" in refusal.reason
    # beyond the end of the log too (a relabelled head claiming a later entry)
    report = verify_chain(entries, key.public_key(), published_head=replace(old, sequence=40))
    assert report.ok and [r.sequence for r in report.refused_heads] == [40]


def test_an_old_form_head_whose_hash_the_log_lacks_shows_a_rewrite() -> None:
    key = Ed25519PrivateKey.generate()
    entries = chain(key)
    other = chain(key, batches=1, size=9)  # another history, signed by the same key
    nine = other[8]
    assert nine.signature is not None and nine.entry_hash != entries[8].entry_hash
    old = ChainHead(9, nine.entry_hash, nine.signature, nine.recorded_at)
    report = verify_chain(entries, key.public_key(), published_head=old)
    assert (report.problem, report.first_bad_sequence) == (Problem.EDITED, 9)
    assert "no está en ninguna entrada de la bitácora" in (report.reason or "")


def test_a_signed_head_with_an_altered_batch_signature_is_refused() -> None:
    key = Ed25519PrivateKey.generate()
    entries = chain(key)
    head = replace(signed_head(key, entries[8]), signature=b"\x01" * 64)
    report = verify_chain(entries, key.public_key(), published_head=head)
    assert report.ok and report.published_count == 0
    (refusal,) = report.refused_heads
    assert "su campo signature" in refusal.reason and "la cabeza fue alterada" in refusal.reason


def _avro(version: int) -> Any:
    path = Path(Settings().schemas_dir) / CHAIN_HEAD_SUBJECT / f"v{version}.avsc"
    return fastavro.parse_schema(json.loads(path.read_text(encoding="utf-8")))


def test_a_v2_head_record_round_trips_and_a_v1_reader_still_checks_its_hash_signature() -> None:
    key = Ed25519PrivateKey.generate()
    head = signed_head(key, chain(key)[8])
    record = head_to_record(head, published_at=AT)
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, _avro(2), record)
    buffer.seek(0)
    back = head_from_record(fastavro.schemaless_reader(buffer, _avro(2)))
    assert back == head
    buffer.seek(0)
    as_v1 = fastavro.schemaless_reader(buffer, _avro(2), _avro(1))
    assert "head_signature" not in as_v1
    key.public_key().verify(as_v1["signature"], as_v1["entry_hash"])  # what v1 readers check
    # a v1 record read with v2 is a head of the old form
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, _avro(1), {**record, "head_signature": None})
    buffer.seek(0)
    old = head_from_record(fastavro.schemaless_reader(buffer, _avro(1), _avro(2)))
    assert head_form(old) is HeadForm.HASH_ONLY and old.key_id == fingerprint(key)
