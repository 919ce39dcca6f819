"""The lag is the hub's: an agency's sent_at can neither hide lateness nor bend the figures.

Through the pipeline on SQLite and PostgreSQL: a backdated ``sent_at`` does not make a late
delivery on time; a ``sent_at`` ahead of the hub's clock is counted and warned about, exactly
once whatever the redeliveries, replays and workers; ``sisi compliance --json``, ``/metrics`` and
the scorecard give the same numbers.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import uuid
from itertools import count
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from hub.agreements.loader import AgreementSet
from hub.cli.main import cli
from hub.compliance import AgreementCompliance, ComplianceCollector, read_compliance
from hub.compliance.scorecard import build_scorecards
from hub.db import make_engine
from hub.worker import HubPipeline, KafkaMessage, RecordingPublisher, build_pipeline
from hub.worker.changes import record_agreement_changes
from tests.hub.compliance.conftest import at_once
from tests.hub.gatekeeper.changesets import PAM, change_set, item, sealed, topic_of
from tests.hub.gatekeeper.fixtures import TODAY, Hub

# items take effect on 2026-03-01: 00:00 in central Mexico time is 06:00 UTC
EFFECTIVE = dt.datetime(2026, 3, 1, 6, tzinfo=dt.UTC)
ON_TIME = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)  # PAM allows 240 h
ARRIVAL = dt.datetime(2026, 6, 10, 12, tzinfo=dt.UTC)  # when the hub reads it: late
_offsets = count()


def _message(
    hub: Hub, items: list[dict[str, Any]], *, sent_at: dt.datetime, transaction: str | None = None
) -> KafkaMessage:
    record = change_set(
        PAM, items, transaction_id=transaction or str(uuid.uuid4()), sent_at=sent_at
    )
    value, headers = sealed(hub.engine, record)
    return KafkaMessage(topic_of(PAM), 0, next(_offsets), value, tuple(headers))


def _at(pipeline: HubPipeline, moment: dt.datetime) -> HubPipeline:
    pipeline.clock = lambda: moment
    return pipeline


def _pam(hub: Hub) -> AgreementCompliance:
    (row,) = [r for r in read_compliance(hub.engine) if r.agreement_id == PAM]
    return row


def _initial_load(hub: Hub) -> None:
    """The agreement's first delivery (not measured), so the next ones are."""
    message = _message(hub, [item(0)], sent_at=ON_TIME)
    assert _at(hub.pipeline, ON_TIME).process(message).status == "ACCEPTED"


def _cli(hub: Hub, monkeypatch: Any, *args: str) -> str:
    monkeypatch.setenv("SISI_DATABASE_URL", hub.settings.resolved_database_url())
    monkeypatch.setenv("SISI_AGREEMENTS_DIR", str(hub.settings.agreements_dir))
    result = CliRunner().invoke(cli, ["compliance", *args])
    assert result.exit_code == 0, result.output
    return result.output


def _samples(hub: Hub) -> dict[tuple[str, str, str], float]:
    """PAM's samples by (metric, agreement, reason)."""
    collector = ComplianceCollector(hub.engine, AgreementSet(hub.settings.agreements_dir))
    found = {}
    for family in collector.collect():
        for sample in family.samples:
            if sample.labels["agreement"] == PAM:
                key = (sample.name, sample.labels["agreement"], sample.labels.get("reason", ""))
                found[key] = sample.value
    return found


def _metric(samples: dict[tuple[str, str, str], float], name: str, reason: str = "") -> float:
    return samples[(name, PAM, reason)]


def test_a_backdated_sent_at_does_not_make_a_late_delivery_on_time(
    hub: Hub, monkeypatch: Any
) -> None:
    _initial_load(hub)
    # the agency writes a sent_at the day after the fact; the hub reads it in June
    message = _message(hub, [item(1), item(2)], sent_at=ON_TIME)
    assert _at(hub.pipeline, ARRIVAL).process(message).status == "ACCEPTED"

    row = _pam(hub)
    lag = (ARRIVAL - EFFECTIVE).total_seconds()
    assert row.last_lag_seconds == lag and row.counters["late_items"] == 2
    assert row.clock_ahead_messages == 0  # behind the hub's clock is no skew
    samples = _samples(hub)
    assert _metric(samples, "sisi_delivery_lag_seconds") == lag
    assert _metric(samples, "sisi_items_late_total") == 2
    out = _cli(hub, monkeypatch)
    # one verdict (no item beyond the maximum lag, as on the scorecard), durations in hours only
    timely = next(line for line in out.split(f"{PAM}\n")[1].splitlines() if "a tiempo" in line)
    assert timely == (
        f"  a tiempo: no ✗ · fuera de plazo 2 · desfase de la última entrega medida"
        f" {lag / 3600:.1f} h (máximo 240 h) · carga inicial 1 (desfase no medido)"
    )


def test_a_sent_at_ahead_of_the_hubs_clock_is_counted_once_and_warned_about(
    hub: Hub, monkeypatch: Any
) -> None:
    _initial_load(hub)
    received = dt.datetime(2026, 3, 3, 12, tzinfo=dt.UTC)  # on time by the hub's clock
    ahead = dt.timedelta(days=2, hours=6)
    message = _message(hub, [item(1)], sent_at=received + ahead)
    assert _at(hub.pipeline, received).process(message).status == "ACCEPTED"
    # redelivered at its position, then copied onto the topic: nothing of the agency changes
    assert hub.pipeline.process(message).kind == "redelivery"
    copy = KafkaMessage(message.topic, 0, next(_offsets), message.value, message.headers)
    assert hub.pipeline.process(copy).kind == "replay"
    # an honest clock a minute ahead is within the tolerance
    close = _message(hub, [item(2)], sent_at=received + dt.timedelta(minutes=1))
    assert hub.pipeline.process(close).status == "ACCEPTED"

    row = _pam(hub)
    assert (row.clock_ahead_messages, row.clock_ahead_max_seconds) == (1, ahead.total_seconds())
    # the lag is the hub's: the future sent_at neither inflates it nor makes it negative
    assert row.last_lag_seconds == (received - EFFECTIVE).total_seconds()
    assert row.counters["late_items"] == 0

    samples = _samples(hub)
    assert _metric(samples, "sisi_messages_clock_ahead_total") == 1
    assert _metric(samples, "sisi_clock_ahead_max_seconds") == ahead.total_seconds()
    (warning,) = [line for line in _cli(hub, monkeypatch).splitlines() if "aviso" in line]
    assert "aviso: 1 conjunto con fecha de envío (sent_at) adelantada al reloj del hub" in warning
    assert "hasta 2.2 días" in warning and "zona horaria" in warning
    (listed,) = [
        r for r in json.loads(_cli(hub, monkeypatch, "--json")) if r["agreement_id"] == PAM
    ]
    assert (listed["clock_ahead_messages"], listed["clock_ahead_max_seconds"]) == (1, 194400)

    # the greatest advance over months is the greatest, the count their sum
    later = dt.datetime(2026, 4, 2, tzinfo=dt.UTC)
    small = _message(hub, [item(3)], sent_at=later + dt.timedelta(hours=1))
    assert _at(hub.pipeline, later).process(small).status == "ACCEPTED"
    row = _pam(hub)
    assert (row.clock_ahead_messages, row.clock_ahead_max_seconds) == (2, ahead.total_seconds())
    (april,) = [r for r in read_compliance(hub.engine, period="2026-04") if r.agreement_id == PAM]
    assert (april.clock_ahead_messages, april.clock_ahead_max_seconds) == (1, 3600)


def test_two_workers_reading_the_same_message_count_its_clock_once(hub: Hub) -> None:
    _initial_load(hub)
    received = dt.datetime(2026, 3, 3, 12, tzinfo=dt.UTC)
    message = _message(hub, [item(1)], sent_at=received + dt.timedelta(hours=3))
    copies = [
        message,
        KafkaMessage(message.topic, 0, next(_offsets), message.value, message.headers),
    ]
    url = hub.settings.resolved_database_url()
    engines = [make_engine(url) for _ in range(2)]
    try:
        pipelines = [
            _at(build_pipeline(hub.settings, RecordingPublisher(), engine=e, today=TODAY), received)
            for e in engines
        ]
        kinds: list[str] = []
        at_once(lambda k: kinds.append(pipelines[k].process(copies[k]).kind))
    finally:
        for engine in engines:
            engine.dispose()
    assert sorted(kinds) == ["processed", "replay"]
    row = _pam(hub)
    assert (row.clock_ahead_messages, row.clock_ahead_max_seconds) == (1, 3 * 3600)
    assert (row.counters["messages"], row.counters["replays"], row.deliveries) == (2, 1, 2)


def test_the_duplicate_ratio_leaves_out_sets_refused_as_a_whole(hub: Hub) -> None:
    early = build_pipeline(
        hub.settings, RecordingPublisher(), engine=hub.engine, today=dt.date(2025, 12, 1)
    )
    refused = _message(hub, [item(k) for k in range(10, 18)], sent_at=ON_TIME)
    assert _at(early, ON_TIME).process(refused).reason_code == "CONVENIO_NO_VIGENTE"
    twice = _message(hub, [item(1), item(1)], sent_at=ON_TIME)  # an identical repetition
    assert _at(hub.pipeline, ON_TIME).process(twice).status == "ACCEPTED"
    row = _pam(hub)
    assert (row.counters["items_received"], row.counters["duplicates"]) == (10, 1)
    assert row.items_inspected == 2 and row.duplicate_ratio == 0.5  # was 1/10
    assert row.rejection_rate == 0.8  # the refused set's items are rejected items


def test_a_removed_agreements_refusals_are_counted_under_its_id(hub: Hub, tmp_path: Path) -> None:
    record_agreement_changes(hub.engine, hub.pipeline.audit, hub.pipeline.gatekeeper.agreements)
    _initial_load(hub)
    shutil.move(hub.settings.agreements_dir / "bienestar-pam.yaml", tmp_path / "pam.yaml")
    assert hub.pipeline.gatekeeper.refresh(force=True)
    record_agreement_changes(hub.engine, hub.pipeline.audit, hub.pipeline.gatekeeper.agreements)
    late = _message(hub, [item(5)], sent_at=ON_TIME)
    assert hub.pipeline.process(late).reason_code == "CONVENIO_DADO_DE_BAJA"

    loaded = AgreementSet(hub.settings.agreements_dir)
    rows = {r.agreement_id: r for r in read_compliance(hub.engine, agreement_ids=loaded.ids)}
    assert rows[PAM].unverified_rejections == {"CONVENIO_DADO_DE_BAJA": 1}
    assert "desconocido" not in rows  # before: counted under no agreement at all
    assert rows[PAM].deliveries == 1  # its figures stay listed
    # and its series keep their labels (from the version the hub stored), not empty ones
    collector = ComplianceCollector(hub.engine, loaded)
    labels = [
        s.labels
        for family in collector.collect()
        for s in family.samples
        if s.name == "sisi_deliveries_total" and s.labels["agreement"] == PAM
    ]
    assert labels == [{"agreement": PAM, "level": "federal", "state": "00"}]


def test_cli_metrics_and_scorecard_agree(hub: Hub, monkeypatch: Any) -> None:
    """One month of mixed deliveries: the three outputs show the same numbers."""
    _initial_load(hub)
    june = dt.datetime(2026, 6, 10, 12, tzinfo=dt.UTC)

    def recent(i: int, **extra: Any) -> dict[str, Any]:  # a fact of the day before: on time
        return {**item(i, **extra), "effective_date": dt.date(2026, 6, 9)}

    history = [
        ([recent(1), recent(2), recent(2)], june - dt.timedelta(days=1)),  # a duplicate inside
        ([recent(3), recent(4, program="S311")], june + dt.timedelta(hours=2)),  # ahead
        ([recent(5, curp="XXXX000000XXXXXX00")], june),  # an invalid CURP: no delivery
        ([recent(6), recent(7, curp=None)], june),  # no CURP: not in the CURP rate
    ]
    for items, sent_at in history:
        assert _at(hub.pipeline, june).process(_message(hub, items, sent_at=sent_at)).kind
    early = build_pipeline(
        hub.settings, RecordingPublisher(), engine=hub.engine, today=dt.date(2025, 12, 1)
    )
    assert _at(early, june).process(_message(hub, [item(9)], sent_at=june)).reason_code

    (everything,) = [
        r for r in json.loads(_cli(hub, monkeypatch, "--json")) if r["agreement_id"] == PAM
    ]
    samples = _samples(hub)
    rejected = {
        reason: value
        for (name, _, reason), value in samples.items()
        if name == "sisi_items_rejected_total"
    }
    refused = {
        reason: value
        for (name, _, reason), value in samples.items()
        if name == "sisi_messages_rejected_total"
    }
    assert everything["rejections_by_reason"] == rejected
    assert everything["refused_messages_by_reason"] == refused
    pairs = {
        "items_accepted": "sisi_items_accepted_total",
        "deliveries": "sisi_deliveries_total",
        "late_items": "sisi_items_late_total",
        "initial_items": "sisi_items_initial_load_total",
        "last_lag_seconds": "sisi_delivery_lag_seconds",
        "curp_validity": "sisi_curp_validity_ratio",
        "completeness": "sisi_completeness_ratio",
        "duplicate_ratio": "sisi_duplicate_ratio",
        "clock_ahead_messages": "sisi_messages_clock_ahead_total",
        "clock_ahead_max_seconds": "sisi_clock_ahead_max_seconds",
    }
    for field, metric in pairs.items():
        assert everything[field] == _metric(samples, metric), field
    assert everything["max_lag_hours"] * 3600 == _metric(samples, "sisi_delivery_lag_sla_seconds")
    assert everything["clock_ahead_messages"] == 1 and everything["duplicate_ratio"] is not None
    assert everything["curp_validity"] < 1

    (month,) = [
        r
        for r in json.loads(_cli(hub, monkeypatch, "--json", "--period", "2026-06"))
        if r["agreement_id"] == PAM
    ]
    cards = build_scorecards(hub.engine, AgreementSet(hub.settings.agreements_dir), now=june)
    (card,) = [c for c in cards if c["agreement_id"] == PAM]
    same = {
        "deliveries": "deliveries",
        "items_received": "items_received",
        "items_accepted": "items_accepted",
        "items_rejected": "items_rejected",
        "rejection_reasons": "rejections_by_reason",
        "refused_messages": "refused_messages_by_reason",
        "lag_seconds": "last_lag_seconds",
        "late_items": "late_items",
        "initial_items": "initial_items",
        "curp_validity": "curp_validity",
        "completeness": "completeness",
        "duplicate_ratio": "duplicate_ratio",
        "clock_ahead_messages": "clock_ahead_messages",
        "clock_ahead_max_seconds": "clock_ahead_max_seconds",
        "max_lag_hours": "max_lag_hours",
    }
    for card_field, cli_field in same.items():
        assert card[card_field] == month[cli_field], card_field
    assert card["last_delivery_at"].isoformat() == month["last_delivery_at"]
    assert card["deliveries"] == 3 and card["items_rejected"] == 3 and card["late_items"] == 0
    assert card["lag_seconds"] == (june - dt.datetime(2026, 6, 9, 6, tzinfo=dt.UTC)).total_seconds()
    assert card["refused_messages"] == {"CONVENIO_NO_VIGENTE": 1}
    (july,) = [
        r
        for r in json.loads(_cli(hub, monkeypatch, "--json", "--period", "2026-07"))
        if r["agreement_id"] == PAM
    ]
    assert july["deliveries"] == 0 and july["last_delivery_at"] == month["last_delivery_at"]
    assert card["on_time_measured"] is True and card["in_force"] is True


def test_messages_naming_no_agreement_are_shown_as_nobodys(hub: Hub, monkeypatch: Any) -> None:
    for k in range(3):  # whatever ids senders make up, one series
        value, headers = sealed(hub.engine, change_set(f"CONV-NADIE-{k}", [item(k)]))
        stranger = KafkaMessage(topic_of(PAM), 0, next(_offsets), value, tuple(headers))
        assert hub.pipeline.process(stranger).reason_code == "CONVENIO_DESCONOCIDO"
    _initial_load(hub)
    collector = ComplianceCollector(hub.engine, AgreementSet(hub.settings.agreements_dir))
    values = {v for f in collector.collect() for s in f.samples for v in s.labels.values()}
    assert "desconocido" in values and not any("NADIE" in v for v in values)
    person = item(0)["person"]  # nothing of a person or a folio in any label
    assert not values & {person["curp"], person["nombre"], item(0)["reference_id"]}
    out = _cli(hub, monkeypatch)
    (title,) = [line for line in out.splitlines() if line.startswith("desconocido")]
    assert "nombran un convenio que el hub no tiene" in title and "sisi quarantine list" in title
    assert "no cargado" not in title
    (listed,) = [r for r in json.loads(_cli(hub, monkeypatch, "--json")) if not r["loaded"]]
    assert listed["unauthenticated_refusals_by_reason"] == {"CONVENIO_DESCONOCIDO": 3}
    assert "NADIE" not in out  # a sender's string never becomes a label or a line
