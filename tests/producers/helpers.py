"""Helpers of the producer tests: read a topic back, decode and verify change sets."""

from __future__ import annotations

import time
import uuid
from typing import Any

from hub.contracts.wire import decode
from hub.envelope import headers_dict, verify_envelope
from hub.settings import Settings
from producers.contract import SchemaSource


def read_topic(
    settings: Settings, topic: str, *, idle: float = 1.5
) -> list[tuple[bytes, dict[str, bytes]]]:
    """Every message on ``topic`` (value, headers), read from the beginning of each partition."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    consumer = Consumer(
        {
            "bootstrap.servers": settings.bootstrap_servers,
            "group.id": f"test-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
        }
    )
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    found: list[tuple[bytes, dict[str, bytes]]] = []
    last = time.monotonic()
    while time.monotonic() - last < idle:
        for message in consumer.consume(500, timeout=0.3):
            if message.error() is None:
                found.append((message.value(), headers_dict(message.headers())))
                last = time.monotonic()
    consumer.close()
    return found


def change_sets(
    settings: Settings, topic: str, public_key: str, transaction_id: str | None = None
) -> list[dict[str, Any]]:
    """Decoded change sets on ``topic`` (of one delivery), each signature verified first."""
    source = SchemaSource.for_settings(settings)
    records = []
    for value, headers in read_topic(settings, topic):
        record = decode(value, source.writer_schema)
        if transaction_id is not None and record["transaction_id"] != transaction_id:
            continue
        assert verify_envelope(public_key, value, headers), "firma inválida"
        assert headers["sisi-message-id"].decode() == record["message_id"]
        records.append(record)
    return records


def items_of(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        item
        for record in sorted(records, key=lambda r: r["chunk_index"])
        for item in record["items"]
    ]
