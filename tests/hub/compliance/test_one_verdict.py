"""``sisi compliance`` and the public scorecard give one timeliness verdict for an agreement and
month (no item beyond the maximum lag), in the text, in ``--json`` and on the card; a month
before the agreement was in force is said to be one."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from itertools import count
from typing import Any

from hub.agreements.model import KEY_DATE_ZONE
from hub.compliance import SCORECARD_SUBJECT, period_of
from hub.contracts.wire import decode
from hub.topics import PUBLIC_SCORECARDS
from hub.worker import KafkaMessage, RecordingPublisher, build_pipeline
from hub.worker.public import publish_public
from tests.hub.compliance.conftest import compliance_cli
from tests.hub.gatekeeper.changesets import PAM, change_set, item, sealed, topic_of
from tests.hub.gatekeeper.fixtures import Hub

_offsets = count(5000)


def _send(hub: Hub, items: list[dict[str, Any]]) -> None:
    record = change_set(PAM, items, transaction_id=str(uuid.uuid4()))
    value, headers = sealed(hub.engine, record)
    message = KafkaMessage(topic_of(PAM), 0, next(_offsets), value, tuple(headers))
    assert hub.pipeline.process(message).status == "ACCEPTED"


def _card(hub: Hub, now: dt.datetime) -> dict[str, Any]:
    publisher = RecordingPublisher()
    pipeline = build_pipeline(hub.settings, publisher, engine=hub.engine)
    publish_public(pipeline, now=now)
    latest = pipeline.schemas.latest(SCORECARD_SUBJECT)
    cards = [decode(m.value, {latest.id: latest.parsed}) for m in publisher.on(PUBLIC_SCORECARDS)]
    (card,) = [card for card in cards if card["agreement_id"] == PAM]
    return card


_cli = compliance_cli


def _pam_lines(out: str) -> list[str]:
    """PAM's title and its indented lines."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(PAM))
    block = [lines[start]]
    for line in lines[start + 1 :]:
        if not line.startswith(" "):
            break
        block.append(line)
    return block


def test_late_items_early_in_the_month_make_it_late_although_the_last_delivery_was_on_time(
    hub: Hub, monkeypatch: Any
) -> None:
    _send(hub, [item(0)])  # the initial load (not measured)
    _send(hub, [item(1), item(2)])  # dated 2026-03-01: far beyond PAM's 240 h
    today = dt.datetime.now(KEY_DATE_ZONE).date()
    _send(hub, [{**item(3), "effective_date": today}])  # the last delivery: on time
    now = dt.datetime.now(dt.UTC)
    period = period_of(now)

    card = _card(hub, now)
    assert (card["on_time"], card["on_time_measured"], card["late_items"]) == (False, False, 2)
    assert card["lag_seconds"] < 240 * 3600  # the last delivery alone was within the maximum

    for args in ((), ("--period", period)):
        (listed,) = [
            row
            for row in json.loads(_cli(hub, monkeypatch, "--json", *args))
            if row["agreement_id"] == PAM
        ]
        assert (listed["on_time"], listed["on_time_measured"]) == (False, False)
        assert listed["late_items"] == 2

    lines = _pam_lines(_cli(hub, monkeypatch, "--period", period))
    (timely,) = [line for line in lines if "a tiempo" in line]
    hours = card["lag_seconds"] / 3600
    assert timely == (
        f"  a tiempo: no ✗ · fuera de plazo 2 · desfase de la última entrega medida {hours:.1f} h"
        " (máximo 240 h) · carga inicial 1 (desfase no medido)"
    )
    (last,) = [line for line in lines if "última entrega (" in line]
    assert last.startswith("  última entrega (de cualquier mes) hace ")
    assert not any("días" in line for line in lines)  # hours next to a maximum in hours


def test_a_month_on_time_is_on_time_in_both(hub: Hub, monkeypatch: Any) -> None:
    _send(hub, [item(0)])
    today = dt.datetime.now(KEY_DATE_ZONE).date()
    _send(hub, [{**item(1), "effective_date": today}])
    now = dt.datetime.now(dt.UTC)
    card = _card(hub, now)
    assert (card["on_time"], card["on_time_measured"]) == (True, True)
    (listed,) = [
        row
        for row in json.loads(_cli(hub, monkeypatch, "--json", "--period", period_of(now)))
        if row["agreement_id"] == PAM
    ]
    assert (listed["on_time"], listed["on_time_measured"]) == (True, True)
    (timely,) = [line for line in _pam_lines(_cli(hub, monkeypatch)) if "a tiempo" in line]
    assert timely.startswith("  a tiempo: sí · fuera de plazo 0 · ")


def test_a_month_before_the_agreement_was_in_force_is_said_to_be_one(
    hub: Hub, monkeypatch: Any
) -> None:
    _send(hub, [item(0)])  # delivered just now: the last delivery of any month
    lines = _pam_lines(_cli(hub, monkeypatch, "--period", "2025-01"))
    assert lines[0] == (
        f"{PAM} (en 2025-01 aún no estaba en vigor: vigente desde el 2026-01-01;"
        " no había nada que entregar)"
    )
    # nothing was due: no zeros, no verdict; the last delivery of any month, said as such
    assert lines[1:] == [
        "  ninguna entrega en 2025-01 · la última (de otro mes) llegó hace menos de un minuto"
    ]
    in_force = _pam_lines(_cli(hub, monkeypatch, "--period", "2026-02"))  # nothing sent then
    assert in_force[0] == PAM
    assert (
        "  a tiempo: sin medir (ninguna entrega medida en 2026-02) · fuera de plazo 0"
        in "\n".join(in_force)
    )
    (listed,) = [
        row
        for row in json.loads(_cli(hub, monkeypatch, "--json", "--period", "2025-01"))
        if row["agreement_id"] == PAM
    ]
    assert (listed["deliveries"], listed["on_time"], listed["on_time_measured"]) == (0, False, None)
