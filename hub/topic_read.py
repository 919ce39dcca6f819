"""Reading a public topic to its end, as an outside subscriber does (no consumer group joined).

The audit chain heads (``sisi audit published``) and the compliance scorecards
(``sisi compliance --published``) are read this way: each partition from its first record (or
its last ``last`` ones) to its end. The end is the partition's EOF event, not the high watermark
read first: Tansu 0.6 reports a high watermark of 1 after a batch of two records.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, Final

from hub.errors import SisiError
from hub.kafka_log import kafka_logger

__all__ = ["read_to_end"]

#: How long a broker may take to describe the topic (reading it may then take longer).
BROKER_ANSWER: Final = 10.0


def read_to_end(
    bootstrap_servers: str,
    topic: str,
    group_id: str,
    *,
    timeout: float,
    last: int | None = None,
    missing_ok: bool = False,
) -> Iterator[Any]:
    """Every record of ``topic`` (a confluent-kafka ``Message``), per partition by offset.

    ``last``: only the last ``last`` records of each partition, and a read that does not reach
    every end within ``timeout`` just stops; without it such a read raises ``SisiError``.
    ``missing_ok``: a topic the broker does not have gives no records instead of an error.
    ``group_id`` is required by librdkafka; the group is never joined (partitions are assigned).
    """
    from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

    consumer: Any = Consumer(
        {
            "bootstrap.servers": bootstrap_servers,
            "group.id": group_id,
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "allow.auto.create.topics": False,
            "logger": kafka_logger("hub.librdkafka"),
        }
    )
    deadline = time.monotonic() + timeout
    try:
        answer = min(timeout, BROKER_ANSWER)
        try:
            metadata = consumer.list_topics(topic, timeout=answer)
        except KafkaException as exc:
            raise SisiError(
                f"el broker {bootstrap_servers} no respondió en {answer:g} s ({exc})",
                hint="revise SISI_BOOTSTRAP_SERVERS y que el hub esté en marcha",
            ) from exc
        described = metadata.topics.get(topic)
        if described is None or described.error is not None or not described.partitions:
            if missing_ok:
                return
            raise SisiError(
                f"el broker {bootstrap_servers} no tiene el tópico {topic}",
                hint="revise SISI_BOOTSTRAP_SERVERS: el hub crea el tópico al arrancar",
            )
        pending: set[int] = set()
        starts: list[Any] = []
        for partition in sorted(described.partitions):
            low, high = consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=max(deadline - time.monotonic(), 1.0)
            )
            if high > low:
                pending.add(partition)
                first = low if last is None else max(low, high - last)
                starts.append(TopicPartition(topic, partition, first))
        if not pending:
            return
        consumer.assign(starts)
        while pending and time.monotonic() < deadline:
            message = consumer.poll(min(0.5, max(deadline - time.monotonic(), 0.01)))
            if message is None:
                continue
            if message.error() is not None:
                if message.error().code() == KafkaError._PARTITION_EOF:
                    pending.discard(message.partition())
                continue
            yield message
        if pending and last is None:
            raise SisiError(
                f"no se terminó de leer el tópico {topic} en {timeout:g} s",
                hint="vuelva a intentar; revise que el broker responda",
            )
    finally:
        consumer.close()
