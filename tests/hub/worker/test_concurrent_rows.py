"""Two workers changing one padrón row at once end in the state of applying both, in order.

A row's BAJA and the PAGO of its last month travel in different change sets of one delivery, and
those land on different partitions, so two workers can apply them at the same moment. The
registry's general path reads the record, its people and its ledger, folds them and writes them
back: without serialization (SQLite's write lock; a PostgreSQL advisory lock), the worker that
commits second would write back what it read before the first one committed.

The worker applying the PAGO is held between its reads and its writes until the one applying the
BAJA finished or two seconds passed: with serialization the BAJA waits for the PAGO's commit (and
the hold times out); without it, the BAJA commits inside the PAGO's window and the PAGO's worker
then writes the row back as active.

On PostgreSQL the serialization is per row (the general path locks the records and people it
reads): a BAJA of *another* row commits inside the PAGO's window, so workers scale on deliveries
of payments and changes instead of taking turns.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from hub.db import make_engine
from hub.registry import general, writer
from hub.worker import KafkaMessage, RecordingPublisher, build_pipeline
from tests.hub.gatekeeper.changesets import PAM, change_set, item, sealed, topic_of
from tests.hub.gatekeeper.fixtures import TODAY, Hub

_offsets = iter(range(1_000_000))


def _message(hub: Hub, operation: str, effective: dt.date, row: int = 1) -> KafkaMessage:
    entry = item(row, operation=operation)
    entry["effective_date"] = effective
    if operation == "PAGO":
        entry["benefit"] = {**entry["benefit"], "fecha_beneficio": effective}
    value, headers = sealed(hub.engine, change_set(PAM, [entry]))
    return KafkaMessage(topic_of(PAM), 0, next(_offsets), value, tuple(headers))


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, threading.Event]]:
    """Hold the thread named 'first' after the general path's reads (see module docstring)."""
    events = {"read": threading.Event(), "second_done": threading.Event()}
    original = general.GeneralPath._write_people

    def write_people(self: Any, conn: Any, plan: Any) -> Any:
        if threading.current_thread().name == "first":
            events["read"].set()
            events["second_done"].wait(2.0)
        return original(self, conn, plan)

    monkeypatch.setattr(general.GeneralPath, "_write_people", write_people)
    yield events


def _at_once(
    hub: Hub, held: dict[str, threading.Event], first: KafkaMessage, second: KafkaMessage
) -> bool:
    """``first`` on the hub's pipeline (held after its reads) and ``second`` on another worker's
    once the first has read; both accepted. True when the second finished before the first."""
    other = build_pipeline(
        hub.settings,
        RecordingPublisher(),
        engine=make_engine(hub.settings.resolved_database_url()),
        today=TODAY,
    )
    statuses: dict[str, str] = {}
    finished: dict[str, bool] = {}

    def first_worker() -> None:
        statuses["first"] = hub.pipeline.process(first).status
        finished["second_before_first"] = held["second_done"].is_set()

    def second_worker() -> None:
        held["read"].wait(10)
        statuses["second"] = other.process(second).status
        held["second_done"].set()

    threads = [
        threading.Thread(target=first_worker, name="first"),
        threading.Thread(target=second_worker, name="second"),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    other.engine.dispose()
    assert statuses == {"first": "ACCEPTED", "second": "ACCEPTED"}
    return finished["second_before_first"]


def test_a_baja_and_a_pago_applied_at_once_leave_the_row_dropped(
    hub: Hub, held: dict[str, threading.Event]
) -> None:
    assert hub.pipeline.process(_message(hub, "ALTA", dt.date(2026, 3, 1))).status == "ACCEPTED"
    baja = _message(hub, "BAJA", dt.date(2026, 6, 1))
    pago = _message(hub, "PAGO", dt.date(2026, 5, 15))
    _at_once(hub, held, pago, baja)
    with hub.engine.connect() as conn:
        active = conn.execute(text("select active from source_records")).scalar_one()
        spans = conn.execute(
            text("select status, valid_from, valid_to from enrollments order by valid_from")
        ).all()
        paid = conn.execute(text("select count(*) from benefits_paid")).scalar_one()
    assert not active
    assert [(s, str(f), str(t) if t else None) for s, f, t in spans] == [
        ("ACTIVA", "2026-03-01", "2026-06-01"),
        ("BAJA", "2026-06-01", None),
    ]
    assert paid == 1


def test_workers_changing_different_rows_do_not_wait_for_each_other(
    hub: Hub, held: dict[str, threading.Event], db_url: str
) -> None:
    for row in (1, 2):
        alta = _message(hub, "ALTA", dt.date(2026, 3, 1), row)
        assert hub.pipeline.process(alta).status == "ACCEPTED"
    pago = _message(hub, "PAGO", dt.date(2026, 5, 15), 1)
    baja = _message(hub, "BAJA", dt.date(2026, 6, 1), 2)
    second_before_first = _at_once(hub, held, pago, baja)
    # SQLite: one writer at a time, the BAJA waits for the PAGO's commit; PostgreSQL: it commits
    # while the PAGO's worker is held between its reads and its writes
    assert second_before_first is db_url.startswith("postgresql")
    with hub.engine.connect() as conn:
        rows = conn.execute(
            text("select reference_id, active from source_records order by reference_id")
        ).all()
        paid = conn.execute(text("select reference_id from benefits_paid")).scalars().all()
    assert [(ref, bool(active)) for ref, active in rows] == [
        ("R0000001", True),
        ("R0000002", False),
    ]
    assert paid == ["R0000001"]


def test_batches_meeting_the_same_rows_in_opposite_order_do_not_deadlock(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers, each a batch of two change sets of one delivery (PAGOs of rows 1 then 2;
    BAJAs of rows 2 then 1), applied at once with a pause between each batch's sets: on
    PostgreSQL each batch locks all its rows first, in one order, so neither deadlocks (a
    deadlock costs a second and a retry; three in a row stop the worker)."""
    for row in (1, 2):
        alta = _message(hub, "ALTA", dt.date(2026, 3, 1), row)
        assert hub.pipeline.process(alta).status == "ACCEPTED"
    original = writer.RegistryWriter.apply_in
    calls: dict[str, int] = {}
    contention: list[str] = []

    def apply_in(self: Any, conn: Any, header: Any, items: Any, **kwargs: Any) -> Any:
        name = threading.current_thread().name
        calls[name] = calls.get(name, 0) + 1
        try:
            return original(self, conn, header, items, **kwargs)
        except Exception as exc:
            contention.append(f"{name}: {type(getattr(exc, 'orig', exc)).__name__}")
            raise
        finally:
            if calls[name] == 1:
                time.sleep(0.3)  # between the first and the second change set of the batch

    monkeypatch.setattr(writer.RegistryWriter, "apply_in", apply_in)
    other = build_pipeline(
        hub.settings,
        RecordingPublisher(),
        engine=make_engine(hub.settings.resolved_database_url()),
        today=TODAY,
    )
    pagos = [_message(hub, "PAGO", dt.date(2026, 5, 15), row) for row in (1, 2)]
    bajas = [_message(hub, "BAJA", dt.date(2026, 6, 1), row) for row in (2, 1)]
    statuses: dict[str, list[str]] = {}

    def run(name: str, pipeline: Any, batch: list[KafkaMessage]) -> None:
        statuses[name] = [outcome.status for outcome in pipeline.process_batch(batch)]

    threads = [
        threading.Thread(target=run, args=("pagos", hub.pipeline, pagos), name="pagos"),
        threading.Thread(target=run, args=("bajas", other, bajas), name="bajas"),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    other.engine.dispose()
    assert contention == []
    assert statuses == {"pagos": ["ACCEPTED"] * 2, "bajas": ["ACCEPTED"] * 2}
    with hub.engine.connect() as conn:
        active = conn.execute(text("select active from source_records")).scalars().all()
        paid = conn.execute(text("select count(*) from benefits_paid")).scalar_one()
    assert [bool(a) for a in active] == [False, False] and paid == 2
