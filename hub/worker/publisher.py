"""Where the hub's outputs go: a small publishing interface, on Kafka or in memory."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from hub.errors import BrokerError
from hub.kafka_log import kafka_logger

__all__ = ["KafkaPublisher", "Published", "Publisher", "RecordingPublisher"]

Headers = Sequence[tuple[str, bytes]]


class Publisher(Protocol):
    """Publishes records; ``flush`` returns once all are acknowledged or raises ``BrokerError``."""

    def publish(
        self, topic: str, value: bytes, headers: Headers = (), key: bytes | None = None
    ) -> None: ...

    def flush(self) -> None: ...


@dataclass(frozen=True)
class Published:
    """One record as a :class:`RecordingPublisher` kept it."""

    topic: str
    value: bytes
    headers: tuple[tuple[str, bytes], ...]
    key: bytes | None


class RecordingPublisher:
    """Keeps what is published in a list (tests and dry runs drive the pipeline without Kafka)."""

    def __init__(self) -> None:
        self.records: list[Published] = []

    def publish(
        self, topic: str, value: bytes, headers: Headers = (), key: bytes | None = None
    ) -> None:
        self.records.append(Published(topic, value, tuple(headers), key))

    def flush(self) -> None:
        return None

    def on(self, topic: str) -> list[Published]:
        """Records published on ``topic``."""
        return [r for r in self.records if r.topic == topic]


class KafkaPublisher:
    """confluent-kafka producer (acks=all, idempotent); ``flush`` raises on any failed delivery."""

    def __init__(self, bootstrap_servers: str, *, timeout: float = 30.0) -> None:
        from confluent_kafka import Producer

        self._producer: Any = Producer(
            {
                "bootstrap.servers": bootstrap_servers,
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": 5,
                "message.max.bytes": 16 * 1024 * 1024,
                "logger": kafka_logger("hub.librdkafka"),
            }
        )
        self._timeout = timeout
        self._errors: list[str] = []
        self._lock = threading.Lock()

    def _report(self, error: Any, message: Any) -> None:
        if error is not None:
            with self._lock:
                self._errors.append(f"{message.topic()}: {error}")

    def publish(
        self, topic: str, value: bytes, headers: Headers = (), key: bytes | None = None
    ) -> None:
        while True:
            try:
                self._producer.produce(
                    topic, value=value, key=key, headers=list(headers), on_delivery=self._report
                )
                return
            except BufferError:
                self._producer.poll(0.1)

    def flush(self) -> None:
        left = self._producer.flush(self._timeout)
        with self._lock:
            errors, self._errors = self._errors, []
        if left or errors:
            detail = "; ".join(errors[:3]) or f"{left} mensajes sin confirmar"
            raise BrokerError(
                f"el broker no confirmó la publicación: {detail}",
                hint="revise que el broker esté disponible y que los temas existan "
                "('sisi broker --topics-only')",
            )
