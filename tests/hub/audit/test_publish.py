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
    CHAIN_HEAD_SUBJECT,
    GENESIS_HASH,
    ChainHead,
    entry_from_record,
    entry_to_record,
    extend_chain,
    head_to_record,
    verify_chain,
)
from hub.settings import Settings
from tests.hub.audit.conftest import accepted


def schema(subject: str) -> Any:
    path = Path(Settings().schemas_dir) / subject / "v1.avsc"
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
    parsed = schema(AUDIT_RECORD_SUBJECT)
    back = [entry_from_record(roundtrip(parsed, entry_to_record(e))) for e in entries]
    assert back == entries
    assert verify_chain(back, key.public_key()).ok


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
