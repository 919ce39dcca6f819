"""Public scorecards across months, published with the subject's latest version (v2)."""

from __future__ import annotations

import datetime as dt
import uuid
from itertools import count
from typing import Any

from hub.compliance import SCORECARD_SUBJECT
from hub.contracts.wire import decode, split
from hub.topics import PUBLIC_SCORECARDS
from hub.worker import KafkaMessage, RecordingPublisher, build_pipeline
from hub.worker.public import publish_public
from tests.hub.gatekeeper.changesets import PAM, change_set, item, sealed, topic_of
from tests.hub.gatekeeper.fixtures import Hub

LATE = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)  # PAM allows 240 h after 2026-03-01
_offsets = count()


def _send(hub: Hub, items: list[dict[str, Any]], pipeline: Any = None) -> str:
    record = change_set(PAM, items, transaction_id=str(uuid.uuid4()), sent_at=LATE)
    value, headers = sealed(hub.engine, record)
    message = KafkaMessage(topic_of(PAM), 0, next(_offsets), value, tuple(headers))
    return (pipeline or hub.pipeline).process(message).status


def _cards(hub: Hub, now: dt.datetime) -> dict[str, dict[str, Any]]:
    publisher = RecordingPublisher()
    pipeline = build_pipeline(hub.settings, publisher, engine=hub.engine)
    publish_public(pipeline, now=now)
    latest = pipeline.schemas.latest(SCORECARD_SUBJECT)
    cards = {}
    for message in publisher.on(PUBLIC_SCORECARDS):
        assert split(message.value)[0] == latest.id  # written with the latest version
        card = decode(message.value, {latest.id: latest.parsed})
        cards[card["agreement_id"]] = card
    return cards


def _next_month(moment: dt.datetime) -> dt.datetime:
    return dt.datetime(moment.year + moment.month // 12, moment.month % 12 + 1, 1, tzinfo=dt.UTC)


def test_scorecards_keep_the_last_delivery_and_say_when_nothing_was_measured(hub: Hub) -> None:
    early = build_pipeline(
        hub.settings, RecordingPublisher(), engine=hub.engine, today=dt.date(2025, 12, 1)
    )
    assert _send(hub, [item(0)], pipeline=early) == "REJECTED"  # not in force: no delivery
    assert _send(hub, [item(k) for k in range(1, 4)]) == "ACCEPTED"  # initial load
    now = dt.datetime.now(dt.UTC)

    card = _cards(hub, now)[PAM]
    assert card["deliveries"] == 1  # the refused transaction is none
    assert card["last_delivery_at"] is not None
    assert card["on_time_measured"] is None and card["on_time"] is False  # only the initial load
    delivered = card["last_delivery_at"]

    assert _send(hub, [item(10)]) == "ACCEPTED"  # a late delivery: measured
    card = _cards(hub, now)[PAM]
    assert card["deliveries"] == 2
    assert card["on_time_measured"] is False and card["on_time"] is False

    following = _cards(hub, _next_month(now))  # a new month, nothing sent yet
    card = following[PAM]
    assert (card["deliveries"], card["items_received"]) == (0, 0)
    assert card["last_delivery_at"] is not None and card["last_delivery_at"] >= delivered
    assert card["on_time_measured"] is None and card["on_time"] is False
    surveys = {a.id for a in hub.pipeline.gatekeeper.agreements if a.kind == "encuesta"}
    assert surveys and not surveys & set(following)  # their topics are not read: no card
    for other, never in following.items():  # the agreements that never delivered
        if other != PAM:
            assert never["last_delivery_at"] is None and never["on_time_measured"] is None
