"""Read the public scorecards back from ``sisi.public.scorecards``, as any subscriber would.

Only the broker and the Schema Registry's REST API are used (no database, no hub key): the
values are in Confluent wire format, and each one is read with the writer schema the registry
serves for its id, through ``confluent_kafka``'s own ``AvroDeserializer``. That is the recipe the
README gives to outsiders, so the command checks it too. The topic is read from its beginning to
each partition's end (no consumer group is joined, no offset is committed).
"""

from __future__ import annotations

import time
from typing import Any, Final

from hub.errors import SisiError
from hub.kafka_log import kafka_logger
from hub.topics import PUBLIC_SCORECARDS

__all__ = ["latest_cards", "read_published_scorecards"]

#: How long the broker may take to describe the topic.
_BROKER_ANSWER: Final = 10.0


def read_published_scorecards(
    bootstrap_servers: str,
    registry_url: str,
    *,
    topic: str = PUBLIC_SCORECARDS,
    timeout: float = 60.0,
) -> list[dict[str, Any]]:
    """Every card the topic still holds, in the order read (per partition, by offset).

    Raises ``SisiError`` when the broker does not answer, the registry cannot give a card's
    schema, or the topic is not read to its end within ``timeout``.
    """
    from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroDeserializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    deserialize = AvroDeserializer(SchemaRegistryClient({"url": registry_url}))
    context = SerializationContext(topic, MessageField.VALUE)
    consumer: Any = Consumer(
        {
            "bootstrap.servers": bootstrap_servers,
            "group.id": "sisi-lector-tableros",  # required by librdkafka; never joined
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "allow.auto.create.topics": False,
            "logger": kafka_logger("hub.librdkafka"),
        }
    )
    deadline = time.monotonic() + timeout
    try:
        answer = min(timeout, _BROKER_ANSWER)
        try:
            metadata = consumer.list_topics(topic, timeout=answer)
        except KafkaException as exc:
            raise SisiError(
                f"el broker {bootstrap_servers} no respondió en {answer:g} s ({exc})",
                hint="revise SISI_BOOTSTRAP_SERVERS y que el hub esté en marcha",
            ) from exc
        described = metadata.topics.get(topic)
        if described is None or described.error is not None or not described.partitions:
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
                starts.append(TopicPartition(topic, partition, low))
        if not pending:
            return []
        consumer.assign(starts)
        cards: list[dict[str, Any]] = []
        while pending and time.monotonic() < deadline:
            message = consumer.poll(min(0.5, max(deadline - time.monotonic(), 0.01)))
            if message is None:
                continue
            if message.error() is not None:
                if message.error().code() == KafkaError._PARTITION_EOF:
                    pending.discard(message.partition())
                continue
            try:
                card = deserialize(message.value(), context)
            except Exception as exc:  # the registry is down, or does not know the id
                raise SisiError(
                    f"no se pudo leer el tablero en {topic}[{message.partition()}]"
                    f"@{message.offset()} con el registro de esquemas {registry_url} ({exc})",
                    hint="revise SISI_SCHEMA_REGISTRY_URL: debe ser el registro del hub",
                ) from exc
            if isinstance(card, dict):
                cards.append(card)
        if pending:
            raise SisiError(
                f"no se terminó de leer el tópico {topic} en {timeout:g} s",
                hint="vuelva a intentar; revise que el broker responda",
            )
        return cards
    finally:
        consumer.close()


def latest_cards(cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The newest card (by ``computed_at``) of each agreement and month, by month then id: a
    worker republishes the current month's cards as it goes, the last one is the month's."""
    newest: dict[tuple[str, str], dict[str, Any]] = {}
    for card in cards:
        key = (str(card["period"]), str(card["agreement_id"]))
        known = newest.get(key)
        if known is None or card["computed_at"] >= known["computed_at"]:
            newest[key] = card
    return [newest[key] for key in sorted(newest)]
