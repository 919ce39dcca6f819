"""The public scorecards through the real embedded broker: what a subscriber reads on
``sisi.public.scorecards`` is what ``sisi compliance --period --json`` says, and a reader still on
an earlier version of the contract reads it too."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from io import BytesIO
from typing import Any

from click.testing import CliRunner
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from fastavro import parse_schema, schemaless_reader

from hub.broker import EmbeddedBroker, TopicSpec, ensure_topics
from hub.cli.main import cli
from hub.compliance import SCORECARD_SUBJECT
from hub.contracts.wire import split
from hub.settings import REPO_ROOT
from hub.topics import PUBLIC_SCORECARDS
from hub.worker import KafkaMessage, build_pipeline
from hub.worker.public import publish_public
from hub.worker.publisher import KafkaPublisher
from tests.hub.gatekeeper.changesets import PAM, change_set, item, sealed, topic_of
from tests.hub.gatekeeper.fixtures import TODAY, Hub

JUNE = dt.datetime(2026, 6, 10, 12, tzinfo=dt.UTC)
CONTRACT = REPO_ROOT / "avro_schemas" / SCORECARD_SUBJECT


def _read_all(servers: str, expected: int) -> list[tuple[bytes, bytes]]:
    consumer = Consumer(
        {
            "bootstrap.servers": servers,
            "group.id": f"lector-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
        }
    )
    # assigned, not subscribed: a public reader needs no consumer group (and no rebalance wait)
    consumer.assign([TopicPartition(PUBLIC_SCORECARDS, 0, OFFSET_BEGINNING)])
    found: list[tuple[bytes, bytes]] = []
    deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=60)
    try:
        while len(found) < expected and dt.datetime.now(dt.UTC) < deadline:
            message = consumer.poll(1.0)
            if message is None or message.error():
                continue
            found.append((message.key(), message.value()))
    finally:
        consumer.close()
    return found


def test_a_subscriber_reads_the_same_figures_as_the_operator(
    hub: Hub, fresh_broker: EmbeddedBroker, monkeypatch: Any
) -> None:
    servers = fresh_broker.bootstrap_servers
    ensure_topics(servers, [TopicSpec(PUBLIC_SCORECARDS, 1, {})])
    pipeline = build_pipeline(hub.settings, KafkaPublisher(servers), engine=hub.engine, today=TODAY)
    pipeline.clock = lambda: JUNE
    recent = {"effective_date": dt.date(2026, 6, 9)}
    sets = [
        [{**item(0), **recent}],  # the initial load
        [{**item(1), **recent}, {**item(2, program="S311"), **recent}],  # one rejected
        [{**item(3), **recent}],
    ]
    for offset, items in enumerate(sets):
        sent_at = JUNE + dt.timedelta(hours=offset)  # the last two run ahead of the hub
        value, headers = sealed(hub.engine, change_set(PAM, items, sent_at=sent_at))
        message = KafkaMessage(topic_of(PAM), 0, offset, value, tuple(headers))
        assert pipeline.process(message).kind == "processed"

    published = publish_public(pipeline, now=JUNE)
    agreements = sum(1 for a in pipeline.gatekeeper.agreements if a.kind == "padron")
    assert published == agreements + 1  # one card per padrón agreement, and the audit head
    records = _read_all(servers, agreements)
    cards = [(key, value) for key, value in records if key == f"{PAM}|2026-06".encode()]
    assert len(records) == agreements and len(cards) == 1
    frame = cards[0][1]
    latest = pipeline.schemas.latest(SCORECARD_SUBJECT)
    schema_id, body = split(frame)
    assert schema_id == latest.id
    card = schemaless_reader(BytesIO(bytes(body)), latest.parsed, None)

    monkeypatch.setenv("SISI_DATABASE_URL", hub.settings.resolved_database_url())
    monkeypatch.setenv("SISI_AGREEMENTS_DIR", str(hub.settings.agreements_dir))
    result = CliRunner().invoke(cli, ["compliance", "--json", "--period", "2026-06"])
    assert result.exit_code == 0, result.output
    (month,) = [row for row in json.loads(result.output) if row["agreement_id"] == PAM]
    assert (card["deliveries"], month["deliveries"]) == (3, 3)
    assert card["items_rejected"] == month["items_rejected"] == 1
    assert (
        card["rejection_reasons"]
        == month["rejections_by_reason"]
        == {"PROGRAMA_FUERA_DE_CONVENIO": 1}
    )
    assert card["initial_items"] == month["initial_items"] == 1
    assert card["lag_seconds"] == month["last_lag_seconds"] == 30 * 3600.0
    assert card["clock_ahead_messages"] == month["clock_ahead_messages"] == 2
    assert card["clock_ahead_max_seconds"] == month["clock_ahead_max_seconds"] == 7200
    assert card["duplicate_ratio"] == month["duplicate_ratio"] == 0.0
    assert card["max_lag_hours"] == 240 and card["on_time_measured"] is True

    # a subscriber still on version 1 of the contract reads the card (FULL_TRANSITIVE)
    v1 = parse_schema(json.loads((CONTRACT / "v1.avsc").read_text(encoding="utf-8")))
    old = schemaless_reader(BytesIO(bytes(body)), latest.parsed, v1)
    assert set(old) == {field["name"] for field in v1["fields"]}
    assert (old["deliveries"], old["on_time"]) == (3, True)
