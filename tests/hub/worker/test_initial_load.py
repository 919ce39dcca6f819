"""An agreement's initial load (its first delivery) is not measured for lag; later ones are.

The first delivery brings the padrón's history (enrollments and payments from before the
agreement), late by nature: counting it as late would mark every agency out of its SLA on the day
it joins. The first delivery is decided under the write lock, remembered across restarts (it is
the earliest delivery the compliance tables hold) and applies to all of its chunks, even late ones.
"""

from __future__ import annotations

import datetime as dt
import uuid
from itertools import count

from click.testing import CliRunner

from hub.cli.main import cli
from hub.compliance import AgreementCompliance, read_compliance
from hub.compliance.counting import Tally, as_initial_load
from hub.worker import KafkaMessage, RecordingPublisher, build_pipeline
from tests.hub.gatekeeper.changesets import PAM, change_set, item, sealed, topic_of
from tests.hub.gatekeeper.fixtures import TODAY, Hub

# items take effect on 2026-03-01; PAM allows 240 h: three months later is late
LATE = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
_offsets = count()


def _deliver(
    hub: Hub, first: int, n: int, transaction: str, chunk: tuple[int, int] = (0, 1)
) -> None:
    record = change_set(
        PAM,
        [item(first + k) for k in range(n)],
        transaction_id=transaction,
        sent_at=LATE,
        chunk=chunk,
    )
    value, headers = sealed(hub.engine, record)
    message = KafkaMessage(topic_of(PAM), 0, next(_offsets), value, tuple(headers))
    assert hub.pipeline.process(message).status == "ACCEPTED"


def _pam(hub: Hub) -> AgreementCompliance:
    (row,) = [r for r in read_compliance(hub.engine) if r.agreement_id == PAM]
    return row


def test_as_initial_load_keeps_the_counts_but_not_the_lag() -> None:
    now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    counters = {"messages": 1, "items_received": 5, "items_accepted": 5, "late_items": 4}
    counts = Tally(PAM, "2026-06", counters, last_lag_seconds=9e6, delivered_at=now)
    initial = as_initial_load(counts)
    assert initial.counters == {**counters, "late_items": 0, "initial_items": 5}
    assert initial.last_lag_seconds is None and initial.delivered_at == now
    refused = Tally(PAM, "2026-06", {"messages": 1})  # no items read: nothing to exempt
    assert as_initial_load(refused) is refused


def test_the_first_delivery_is_not_late_and_the_next_ones_are(hub: Hub) -> None:
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    _deliver(hub, 0, 3, first, (0, 2))
    row = _pam(hub)
    assert (row.counters["initial_items"], row.counters["late_items"]) == (3, 0)
    assert row.last_lag_seconds is None

    _deliver(hub, 10, 4, second)  # a later delivery: measured
    row = _pam(hub)
    assert (row.counters["initial_items"], row.counters["late_items"]) == (3, 4)
    assert row.last_lag_seconds is not None and row.last_lag_seconds > 240 * 3600

    # the first delivery's last chunk arrives late, after a restart: still its initial load
    restarted = build_pipeline(hub.settings, RecordingPublisher(), engine=hub.engine, today=TODAY)
    hub.pipeline = restarted
    _deliver(hub, 20, 2, first, (1, 2))
    row = _pam(hub)
    assert (row.counters["initial_items"], row.counters["late_items"]) == (5, 4)
    assert row.deliveries == 2
    assert row.last_lag_seconds is not None  # the initial load left the measured lag alone

    metrics = {m["agreement_id"]: m for m in (r.to_dict() for r in read_compliance(hub.engine))}
    assert metrics[PAM]["initial_items"] == 5


def test_the_compliance_command_names_the_initial_load(hub: Hub, monkeypatch) -> None:
    _deliver(hub, 0, 2, str(uuid.uuid4()))
    monkeypatch.setenv("SISI_DATABASE_URL", hub.settings.resolved_database_url())
    monkeypatch.setenv("SISI_AGREEMENTS_DIR", str(hub.settings.agreements_dir))
    result = CliRunner().invoke(cli, ["compliance"])
    assert result.exit_code == 0, result.output
    assert "carga inicial 2 (desfase no medido)" in result.output
    assert "sin medir (sólo carga inicial)" in result.output
