"""Entries and the head through their Avro contracts: read back from a topic, they still verify."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fastavro
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.agreements.keys import key_id, public_key_of
from hub.audit import (
    AUDIT_RECORD_SUBJECT,
    AUDIT_RECORD_VERSION,
    CHAIN_HEAD_SUBJECT,
    GENESIS_HASH,
    ChainHead,
    Problem,
    entry_from_record,
    entry_to_record,
    extend_chain,
    head_to_record,
    verify_chain,
)
from hub.settings import Settings
from tests.hub.audit.conftest import accepted


def schema(subject: str, version: int = 1) -> Any:
    path = Path(Settings().schemas_dir) / subject / f"v{version}.avsc"
    return fastavro.parse_schema(json.loads(path.read_text(encoding="utf-8")))


def roundtrip(parsed: Any, record: dict[str, Any]) -> dict[str, Any]:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, parsed, record)
    buffer.seek(0)
    result: dict[str, Any] = fastavro.schemaless_reader(buffer, parsed)
    return result


def test_entries_survive_avro_and_still_verify() -> None:
    key = Ed25519PrivateKey.generate()
    at = datetime(2025, 6, 30, 23, 59, 59, 987654, tzinfo=UTC)
    entries = extend_chain(
        ChainHead(0, GENESIS_HASH, b"", None),
        accepted("m-1", 4),
        at,
        lambda hashes: [key.sign(h) for h in hashes],
    )
    assert [entry.signature is None for entry in entries] == [True, True, True, False]
    parsed = schema(AUDIT_RECORD_SUBJECT, AUDIT_RECORD_VERSION)
    records = [roundtrip(parsed, entry_to_record(e)) for e in entries]
    assert records[0]["signature"] is None and records[-1]["signature"] == entries[-1].signature
    back = [entry_from_record(record) for record in records]
    assert back == entries
    assert verify_chain(back, key.public_key()).ok
    forged = dict(records[1], signature=bytes(64))
    report = verify_chain([back[0], entry_from_record(forged), *back[2:]], key.public_key())
    assert (report.first_bad_sequence, report.problem) == (1, Problem.FORGED)


def test_records_written_with_v1_still_read() -> None:
    key = Ed25519PrivateKey.generate()
    entries = extend_chain(
        ChainHead(0, GENESIS_HASH, b"", None),
        accepted("m-1", 3),
        datetime.now(UTC),
        lambda hashes: [key.sign(h) for h in hashes],
        sign_each=True,  # v1 required a signature on every entry
    )
    v1 = schema(AUDIT_RECORD_SUBJECT, 1)
    back = [entry_from_record(roundtrip(v1, entry_to_record(e))) for e in entries]
    assert back == entries and verify_chain(back, key.public_key()).ok


def test_head_record_matches_its_contract() -> None:
    key = Ed25519PrivateKey.generate()
    head = ChainHead(9, bytes(range(32)), key.sign(bytes(range(32))), datetime.now(UTC))
    fingerprint = key_id(public_key_of(key))
    record = roundtrip(schema(CHAIN_HEAD_SUBJECT), head_to_record(head, fingerprint))
    assert (record["sequence"], record["entry_hash"], record["key_id"]) == (
        9,
        head.entry_hash,
        fingerprint,
    )
    with pytest.raises(ValueError, match="vacía"):
        head_to_record(ChainHead(0, GENESIS_HASH, b"", None), fingerprint)
