"""A first change set whose every item the registry refuses is not the initial load.

The initial load is the agreement's first transaction with an item actually accepted (see
hub.compliance.counting and migration 0006). The registry may refuse items only once it reads the
stored state (hub.registry.linking: a folio that already belongs to another person), after the
gatekeeper accepted them; such a change set delivers nothing, so the next transaction with an
accepted item is the initial load, and its lag is not measured.
"""

from __future__ import annotations

import datetime as dt
import uuid

from hub.compliance import AgreementCompliance, read_compliance
from hub.registry import RegistryWriter
from hub.worker import KafkaMessage
from tests.hub.gatekeeper.changesets import PAM, change_set, item, person, sealed, topic_of
from tests.hub.gatekeeper.fixtures import Hub

# items take effect on 2026-03-01; PAM allows 240 h: three months later is late
LATE = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)


def _pam(hub: Hub) -> AgreementCompliance:
    (row,) = [r for r in read_compliance(hub.engine) if r.agreement_id == PAM]
    return row


def _send(hub: Hub, items: list[dict], transaction: str, offset: int) -> str:
    record = change_set(PAM, items, transaction_id=transaction, sent_at=LATE)
    value, headers = sealed(hub.engine, record)
    message = KafkaMessage(topic_of(PAM), 0, offset, value, tuple(headers))
    return hub.pipeline.process(message).status


def test_a_first_set_refused_by_the_registry_leaves_the_initial_load_to_the_next(
    hub: Hub,
) -> None:
    # the registry already holds R0000001 for this agreement (written outside the pipeline, so
    # no delivery is counted for it): the agreement has no initial load yet
    seeded = RegistryWriter(hub.engine).apply(
        {
            "message_id": "padron-previo",
            "transaction_id": "padron-previo",
            "sender_id": "BIENESTAR",
            "agreement_id": PAM,
            "sent_at": dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
            "chunk_index": 0,
            "chunk_count": 1,
            "item_count": 1,
        },
        [item(1)],  # type: ignore[list-item]
    )
    assert seeded.applied == 1

    # first change set: a PAGO for R0000001 with another person's CURP, refused at apply time
    reused = {**item(1, operation="PAGO"), "person": person(7)}
    assert _send(hub, [reused], str(uuid.uuid4()), 0) == "REJECTED"
    row = _pam(hub)
    assert row.deliveries == 0
    assert row.counters.get("initial_items", 0) == 0  # before the fix: 1, its lag exempted
    assert row.counters["items_rejected"] == 1
    assert row.counters["late_items"] == 0  # rejected items are not measured for lag

    # the next transaction is the first with an accepted item: the initial load, not late
    assert _send(hub, [item(10), item(11)], str(uuid.uuid4()), 1) == "ACCEPTED"
    row = _pam(hub)
    assert row.deliveries == 1
    assert (row.counters["initial_items"], row.counters["late_items"]) == (2, 0)
    assert row.last_lag_seconds is None  # the only delivery is the initial load

    # and a later one is measured
    assert _send(hub, [item(20)], str(uuid.uuid4()), 2) == "ACCEPTED"
    row = _pam(hub)
    assert (row.counters["initial_items"], row.counters["late_items"]) == (2, 1)
    assert row.last_lag_seconds is not None and row.last_lag_seconds > 240 * 3600
