"""Publish outbox messages with the idempotent producer; the broker's ack marks them PUBLICADO.

Keyed by ``message_id`` with the envelope's headers, ``acks=all`` and idempotence on, batched for
throughput (a change set already carries hundreds of items). The librdkafka queue is bounded so
memory does not grow with the delivery: when it is full the publisher serves callbacks and
retries. A message the broker never acknowledged stays ``PENDIENTE`` in the outbox; nothing is
lost, ``sisi outbox resend`` publishes it again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from hub.kafka_log import kafka_logger
from hub.settings import Settings
from producers.outbox import OutboxMessage

__all__ = ["PublishResult", "Publisher", "topic_exists"]

_MARK_EVERY: Final = 64
_quiet = kafka_logger("producers.librdkafka")


@dataclass
class PublishResult:
    """Messages acknowledged by the broker and the ones that failed (with the broker's reason)."""

    published: int = 0
    failed: int = 0
    errors: dict[str, str] = field(default_factory=dict)


def topic_exists(settings: Settings, topic: str, timeout: float = 5.0) -> bool | None:
    """Whether the broker has ``topic``; ``None`` when the broker does not answer.

    Asks for the whole topic list: a metadata request naming the topic makes some brokers
    (Tansu among them) create it, and creating topics is the operator's job, not the agency's.
    """
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    config: dict[str, Any] = {"bootstrap.servers": settings.bootstrap_servers, "logger": _quiet}
    admin = AdminClient(config)
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException:
        return None
    found = metadata.topics.get(topic)
    return found is not None and found.error is None


class Publisher:
    """A confluent-kafka producer tuned for change sets."""

    def __init__(self, settings: Settings, *, timeout: float = 30.0) -> None:
        from confluent_kafka import Producer

        self.timeout = timeout
        config: dict[str, Any] = {
            "bootstrap.servers": settings.bootstrap_servers,
            "enable.idempotence": True,
            "allow.auto.create.topics": False,
            "acks": "all",
            "linger.ms": 10,
            "batch.size": 4 * 1024 * 1024,
            "batch.num.messages": 10_000,
            "queue.buffering.max.kbytes": 16 * 1024,
            "compression.type": "lz4",
            "message.max.bytes": 4 * 1024 * 1024,
            "message.timeout.ms": max(1000, int(timeout * 1000)),
            "logger": _quiet,
        }
        self._producer = Producer(config)

    def publish(
        self,
        topic: str,
        messages: Iterable[OutboxMessage],
        on_published: Callable[[list[str]], None],
        *,
        progress: Callable[[int], None] | None = None,
    ) -> PublishResult:
        """Publish and wait for the acks; ``on_published`` gets acknowledged ids in batches."""
        result = PublishResult()
        acked: list[str] = []
        counts: list[int] = []

        def delivered(err: Any, msg: Any) -> None:
            message_id = msg.key().decode("utf-8")
            if err is None:
                acked.append(message_id)
                result.published += 1
            else:
                result.failed += 1
                result.errors[message_id] = str(err.str())
            counts.append(1)

        def settle() -> None:
            if acked:
                on_published(list(acked))
                acked.clear()
            if counts and progress is not None:
                progress(len(counts))
            counts.clear()

        for sent, message in enumerate(messages, 1):
            while True:
                try:
                    self._producer.produce(
                        topic,
                        value=message.value,
                        key=message.message_id.encode("utf-8"),
                        headers=list(message.headers),
                        on_delivery=delivered,
                    )
                    break
                except BufferError:
                    self._producer.poll(0.05)
                    settle()
            self._producer.poll(0)
            if sent % _MARK_EVERY == 0:
                settle()
        remaining = self._producer.flush(self.timeout + 5)
        settle()
        if remaining:
            result.failed += remaining
        return result

    def close(self) -> None:
        """Wait briefly for anything in flight (acks land through ``publish``'s callbacks)."""
        self._producer.flush(1)
