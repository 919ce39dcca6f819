"""Read the public scorecards back from ``sisi.public.scorecards``, as any subscriber would.

Only the broker and the Schema Registry's REST API are used (no database, no hub key): the
values are in Confluent wire format, and each one is read with the writer schema the registry
serves for its id, through ``confluent_kafka``'s own ``AvroDeserializer``. That is the recipe the
README gives to outsiders, so the command checks it too. The topic is read from its beginning to
each partition's end (no consumer group is joined, no offset is committed).
"""

from __future__ import annotations

from typing import Any

from hub.errors import SisiError
from hub.topic_read import read_to_end
from hub.topics import PUBLIC_SCORECARDS

__all__ = ["latest_cards", "read_published_scorecards"]


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
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroDeserializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    deserialize = AvroDeserializer(SchemaRegistryClient({"url": registry_url}))
    context = SerializationContext(topic, MessageField.VALUE)
    cards: list[dict[str, Any]] = []
    # "sisi-lector-tableros": librdkafka wants a group id; it is never joined
    for message in read_to_end(bootstrap_servers, topic, "sisi-lector-tableros", timeout=timeout):
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
    return cards


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
