"""The Kafka-protocol broker: the embedded Tansu process and the topics the hub needs."""

from __future__ import annotations

from hub.broker.embedded import EmbeddedBroker, find_free_port, resolve_broker_binary
from hub.broker.topics import (
    DEFAULT_PARTITIONS,
    TopicSpec,
    ensure_topics,
    existing_topics,
    topics_for_agreements,
    wait_for_topics,
)

__all__ = [
    "DEFAULT_PARTITIONS",
    "EmbeddedBroker",
    "TopicSpec",
    "ensure_topics",
    "existing_topics",
    "find_free_port",
    "resolve_broker_binary",
    "topics_for_agreements",
    "wait_for_topics",
]
