"""HubPipeline idempotency on SQLite and PostgreSQL: redeliveries and crashes change nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from hub.compliance import read_compliance
from hub.contracts.wire import decode
from hub.gatekeeper.schemas import StoreSchemas
from hub.quarantine import REASON_HEADER, list_items
from hub.registry import stats
from hub.topics import QUARANTINE, agreement_receipts
from hub.worker import KafkaMessage
from tests.hub.gatekeeper.changesets import PAM, change_set, item, sealed, topic_of
from tests.hub.gatekeeper.fixtures import Hub


def _state(hub: Hub) -> dict[str, Any]:
    with hub.engine.connect() as conn:
        audit = conn.execute(text("select count(*) from audit_log")).scalar_one()
        ledger = conn.execute(text("select count(*) from processed_messages")).scalar_one()
    return {
        "registry": stats(hub.engine),
        "audit": audit,
        "head": hub.pipeline.audit.head(),
        "ledger": ledger,
        "compliance": [row.to_dict() for row in read_compliance(hub.engine)],
        "quarantine": [(q.reference_id, q.reason_code) for q in list_items(hub.engine)],
    }


def _message(hub: Hub, offset: int = 0) -> KafkaMessage:
    bad = item(3, curp="GARC")
    record = change_set(PAM, [item(1), item(2), bad, item(4, program="S311")])
    value, headers = sealed(hub.engine, record)
    return KafkaMessage(topic_of(PAM), 2, offset, value, tuple(headers))


def test_same_message_twice_changes_nothing_and_repeats_the_receipt(hub: Hub) -> None:
    message = _message(hub)
    first = hub.pipeline.process(message)
    assert first.kind == "processed" and first.status == "PARTIAL"
    state = _state(hub)
    assert state["registry"]["applied_items"] == 2
    assert state["audit"] == 4
    assert sorted(r for r, _ in state["quarantine"]) == ["R0000003", "R0000004"]

    second = hub.pipeline.process(message)

    assert second.kind == "redelivery"
    assert second.receipt == first.receipt
    assert _state(hub) == state
    receipts = hub.published.on(agreement_receipts(PAM))
    assert [r.value for r in receipts] == [first.receipt, first.receipt]
    schemas = StoreSchemas(hub.engine)
    receipt = decode(receipts[0].value, schemas)
    assert receipt["status"] == "PARTIAL"
    assert receipt["accepted_count"] == 2 and receipt["rejected_count"] == 2
    assert {r["reference_id"]: r["reason_code"] for r in receipt["rejected"]} == {
        "R0000003": "CURP_LENGTH",
        "R0000004": "PROGRAMA_FUERA_DE_CONVENIO",
    }
    dead = hub.published.on(QUARANTINE)
    assert len(dead) == 4  # two reasons, published on the first delivery and the redelivery
    headers = dict(dead[0].headers)
    assert headers["__connect.errors.topic"] == topic_of(PAM).encode()
    assert headers["__connect.errors.partition"] == b"2"
    assert headers["__connect.errors.offset"] == b"0"
    assert headers[REASON_HEADER] in (b"CURP_LENGTH", b"PROGRAMA_FUERA_DE_CONVENIO")
    assert headers["__connect.errors.exception.message"]
    record = decode(dead[0].value, schemas)
    assert record["value"] == message.value  # the original bytes, intact


class _CrashError(Exception):
    pass


@pytest.mark.parametrize("stage", ["registry", "audit", "commit", "publish"])
def test_a_crash_at_any_stage_then_redelivery_gives_the_same_state(hub: Hub, stage: str) -> None:
    message = _message(hub, offset=5)
    pipeline = hub.pipeline
    original = {
        "registry": (pipeline.writer, "apply_in"),  # all three inside the batch's transaction
        "audit": (pipeline.audit, "append_in"),
        "commit": (pipeline, "_store"),
        "publish": (pipeline.publisher, "flush"),
    }[stage]
    target, name = original
    real = getattr(target, name)

    def crash(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs) if stage == "publish" else None
        raise _CrashError

    setattr(target, name, crash)
    with pytest.raises(_CrashError):
        pipeline.process(message)
    setattr(target, name, real)

    outcome = pipeline.process(message)
    assert outcome.kind == ("redelivery" if stage == "publish" else "processed")
    state = _state(hub)
    assert state["registry"]["applied_items"] == 2
    assert state["audit"] == 4
    assert state["ledger"] == 1
    row = state["compliance"][0]
    assert (row["messages"], row["items_received"], row["items_accepted"]) == (1, 4, 2)
    assert row["rejections_by_reason"] == {"CURP_LENGTH": 1, "PROGRAMA_FUERA_DE_CONVENIO": 1}
    assert len(state["quarantine"]) == 2
    assert pipeline.process(message).receipt == outcome.receipt


def test_a_batch_is_the_same_as_its_messages_one_by_one(hub: Hub) -> None:
    first = _message(hub, offset=0)
    record = change_set(PAM, [item(11), item(12)])
    value, headers = sealed(hub.engine, record)
    second = KafkaMessage(topic_of(PAM), 2, 1, value, tuple(headers))
    again = KafkaMessage(first.topic, 2, 2, first.value, first.headers)  # a replay of the first

    outcomes = hub.pipeline.process_batch([first, second, again])

    assert [o.kind for o in outcomes] == ["processed", "processed", "replay"]
    assert [o.status for o in outcomes] == ["PARTIAL", "ACCEPTED", "REPLAY"]
    assert outcomes[2].receipt == outcomes[0].receipt  # the replay repeats the first receipt
    state = _state(hub)
    assert state["registry"]["applied_items"] == 4
    assert state["audit"] == 6
    assert state["ledger"] == 3
    row = state["compliance"][0]
    # the replay is the hub's figure, not one of the agency's messages
    assert (row["messages"], row["items_received"], row["items_accepted"]) == (2, 6, 4)
    assert (row["replays"], row["replayed_items"]) == (1, 4)
    receipts = hub.published.on(agreement_receipts(PAM))
    assert [r.value for r in receipts] == [o.receipt for o in outcomes]

    redelivered = hub.pipeline.process_batch([first, second, again])

    assert [o.kind for o in redelivered] == ["redelivery"] * 3
    assert [o.receipt for o in redelivered] == [o.receipt for o in outcomes]
    assert _state(hub) == state
