"""An agency's compliance figures count only what the agency did, on SQLite and PostgreSQL.

Replays (the same authenticated message again) and refusals before authentication (anyone can
write to a topic) are the hub's figures, apart; the initial load is the first transaction with an
accepted item; the lag is the worst of the last delivery; every loaded agreement is listed.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from itertools import count
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.agreements.loader import AgreementSet
from hub.compliance import METRIC_NAMES, AgreementCompliance, ComplianceCollector, read_compliance
from hub.db import make_engine
from hub.worker import KafkaMessage, Outcome, RecordingPublisher, build_pipeline
from tests.hub.compliance.conftest import at_once, compliance_cli
from tests.hub.gatekeeper.changesets import BECAS, PAM, change_set, item, sealed, topic_of
from tests.hub.gatekeeper.fixtures import EXPIRED, TODAY, Hub

# items take effect on 2026-03-01 (changesets.item): the day starts at 00:00 central Mexico time
EFFECTIVE = dt.datetime(2026, 3, 1, 6, tzinfo=dt.UTC)
LATE = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)  # PAM allows 240 h: this is late
ON_TIME = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)
_offsets = count()


def _send(
    hub: Hub,
    items: list[dict[str, Any]],
    *,
    transaction: str | None = None,
    sent_at: dt.datetime = LATE,
    chunk: tuple[int, int] = (0, 1),
    topic: str | None = None,
    key: Ed25519PrivateKey | None = None,
    pipeline: Any = None,
    received: dt.datetime | None = None,
) -> tuple[Outcome, bytes, list[tuple[str, bytes]]]:
    """Send ``items`` as one change set; the hub's clock reads ``received`` (default: the
    header's ``sent_at``, an agency whose clock and network are honest)."""
    record = change_set(
        PAM, items, transaction_id=transaction or str(uuid.uuid4()), sent_at=sent_at, chunk=chunk
    )
    value, headers = sealed(hub.engine, record, key=key)
    message = KafkaMessage(topic or topic_of(PAM), 0, next(_offsets), value, tuple(headers))
    pipeline = pipeline or hub.pipeline
    arrival = received or sent_at
    pipeline.clock = lambda: arrival
    return pipeline.process(message), value, headers


def _pam(hub: Hub) -> AgreementCompliance:
    (row,) = [r for r in read_compliance(hub.engine) if r.agreement_id == PAM]
    return row


def _agency_view(row: AgreementCompliance) -> dict[str, Any]:
    """What is the agency's: everything but the hub-side counters."""
    view = row.to_dict()
    for hub_side in ("replays", "replayed_items", "unauthenticated_refusals_by_reason"):
        view.pop(hub_side)
    return view


_cli = compliance_cli


def _samples(hub: Hub) -> dict[str, list[tuple[dict[str, str], float]]]:
    collector = ComplianceCollector(hub.engine, AgreementSet(hub.settings.agreements_dir))
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in collector.collect():
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def _value(samples: dict[str, Any], name: str, **labels: str) -> float | None:
    matches = [
        value
        for sample_labels, value in samples.get(name, [])
        if all(sample_labels.get(k) == v for k, v in labels.items())
    ]
    assert len(matches) <= 1, (name, labels, matches)
    return matches[0] if matches else None


def test_a_replay_changes_none_of_the_agencys_figures(hub: Hub) -> None:
    outcome, value, headers = _send(hub, [item(1), item(2), item(2)])  # one duplicate inside
    assert outcome.status == "PARTIAL" or outcome.status == "ACCEPTED"
    before = _pam(hub)
    assert before.duplicate_ratio is not None and before.duplicate_ratio > 0

    for _ in range(2):  # an outbox resend, then someone copying the bytes onto the topic
        again = KafkaMessage(topic_of(PAM), 0, next(_offsets), value, tuple(headers))
        assert hub.pipeline.process(again).kind == "replay"
    after = _pam(hub)
    assert _agency_view(after) == _agency_view(before)
    assert (after.counters["replays"], after.counters["replayed_items"]) == (2, 6)
    assert "MENSAJE_REPETIDO" not in after.message_rejections

    samples = _samples(hub)
    assert _value(samples, "sisi_messages_replayed_total", agreement=PAM) == 2
    assert _value(samples, "sisi_messages_rejected_total", reason="MENSAJE_REPETIDO") is None
    assert _value(samples, "sisi_duplicate_ratio", agreement=PAM) == before.duplicate_ratio


def test_refusals_before_authentication_do_not_count_against_the_agreement(
    hub: Hub, monkeypatch: Any
) -> None:
    forged = _send(hub, [item(1)], key=Ed25519PrivateKey.generate())[0]
    assert forged.reason_code == "FIRMA_INVALIDA"
    astray = _send(hub, [item(2)], topic=topic_of(BECAS))[0]
    assert astray.reason_code == "TOPICO_INCORRECTO"

    row = _pam(hub)
    assert row.counters["messages"] == 0 and row.message_rejections == {}
    assert row.item_rejections == {} and row.deliveries == 0 and row.transactions == 0
    assert row.unverified_rejections == {"FIRMA_INVALIDA": 1, "TOPICO_INCORRECTO": 1}

    samples = _samples(hub)
    assert _value(samples, "sisi_messages_rejected_total", agreement=PAM) is None
    for reason in ("FIRMA_INVALIDA", "TOPICO_INCORRECTO"):
        assert (
            _value(samples, "sisi_messages_unauthenticated_total", agreement=PAM, reason=reason)
            == 1
        )
    (shown,) = [line for line in _cli(hub, monkeypatch).splitlines() if "no cuentan" in line]
    assert "sin autenticar FIRMA_INVALIDA 1" in shown and "TOPICO_INCORRECTO 1" in shown


def test_a_refused_first_attempt_is_not_the_initial_load(hub: Hub, monkeypatch: Any) -> None:
    # before the agreement is in force (PAM: from 2026-01-01) the whole set is refused
    early = build_pipeline(
        hub.settings, RecordingPublisher(), engine=hub.engine, today=dt.date(2025, 12, 1)
    )
    refused = _send(hub, [item(k) for k in range(5)], pipeline=early)[0]
    assert refused.reason_code == "CONVENIO_NO_VIGENTE"
    # a set whose every item is rejected is no delivery either
    all_rejected = _send(hub, [item(90, program="S311")])[0]
    assert all_rejected.status == "REJECTED"

    _send(hub, [item(k) for k in range(12)])  # the real initial load
    row = _pam(hub)
    # a rejected item is not measured (sent again corrected, it is measured when accepted)
    assert (row.counters["initial_items"], row.counters["late_items"]) == (12, 0)
    assert row.deliveries == 1 and row.transactions == 3

    _send(hub, [item(k) for k in range(20, 23)])  # a later delivery: measured
    row = _pam(hub)
    assert (row.counters["initial_items"], row.counters["late_items"]) == (12, 3)
    assert row.deliveries == 2
    out = _cli(hub, monkeypatch)
    assert "entregas recibidas 2 (más 2 sin elementos aceptados)" in out
    timely = next(line for line in out.split(f"{PAM}\n")[1].splitlines() if "a tiempo" in line)
    assert timely.startswith("  a tiempo: no ✗ · fuera de plazo 3 · desfase de la última entrega")
    assert timely.endswith(" h (máximo 240 h) · carga inicial 12 (desfase no medido)")


def test_concurrent_workers_agree_on_the_first_delivery(hub: Hub) -> None:
    """Two workers (own engines) each deliver a transaction at once: exactly one is initial."""
    _send(hub, [item(99, program="S311")])  # a first transaction with nothing accepted
    url = hub.settings.resolved_database_url()
    engines = [make_engine(url) for _ in range(2)]
    try:
        pipelines = [
            build_pipeline(hub.settings, RecordingPublisher(), engine=engine, today=TODAY)
            for engine in engines
        ]
        sizes = (3, 5)

        def deliver(k: int) -> None:
            items = [item(100 * (k + 1) + j) for j in range(sizes[k])]
            _send(hub, items, pipeline=pipelines[k])

        at_once(deliver)
    finally:
        for engine in engines:
            engine.dispose()
    row = _pam(hub)
    initial, late = row.counters["initial_items"], row.counters["late_items"]
    assert (initial, late) in ((3, 5), (5, 3))  # the all-rejected set's item is not measured
    assert row.deliveries == 2


def _dated(i: int, effective: dt.date) -> dict[str, Any]:
    return {**item(i), "effective_date": effective}


def test_the_lag_is_the_worst_of_the_last_delivery(hub: Hub) -> None:
    _send(hub, [item(0)], sent_at=ON_TIME)  # initial load: not measured
    assert _pam(hub).last_lag_seconds is None

    second = str(uuid.uuid4())
    _send(hub, [item(10)], transaction=second, sent_at=LATE, chunk=(0, 2))
    # its other chunk commits last, with a recent fact: the delivery keeps the worst
    recent = dt.date(2026, 5, 31)
    later = LATE + dt.timedelta(hours=1)
    _send(hub, [_dated(11, recent)], transaction=second, sent_at=later, chunk=(1, 2))
    worst = (LATE - EFFECTIVE).total_seconds()
    row = _pam(hub)
    assert row.last_lag_seconds == worst
    delivered = row.last_delivery_at
    assert delivered == later

    # a one-item set with every item rejected: no delivery; neither lag nor date move
    after = LATE + dt.timedelta(hours=2)
    rejected = _send(hub, [item(12, program="S311")], sent_at=after)[0]
    assert rejected.status == "REJECTED"
    row = _pam(hub)
    assert row.last_lag_seconds == worst and row.last_delivery_at == delivered

    _send(hub, [_dated(13, recent)], sent_at=after)  # the next delivery sets it
    start = dt.datetime(2026, 5, 31, 6, tzinfo=dt.UTC)  # 00:00 in central Mexico
    assert _pam(hub).last_lag_seconds == (after - start).total_seconds()
    samples = _samples(hub)
    lag = _value(samples, "sisi_delivery_lag_seconds", agreement=PAM)
    assert lag == (after - start).total_seconds()


def test_every_loaded_agreement_is_listed_even_without_deliveries(hub: Hub, monkeypatch) -> None:
    loaded = AgreementSet(hub.settings.agreements_dir)
    ids = loaded.ids
    padron = [a.id for a in loaded if a.kind == "padron"]
    surveys = [a.id for a in loaded if a.kind == "encuesta"]
    assert padron and surveys
    samples = _samples(hub)
    for agreement_id in padron:
        assert _value(samples, "sisi_deliveries_total", agreement=agreement_id) == 0
        assert _value(samples, "sisi_items_accepted_total", agreement=agreement_id) == 0
    for agreement_id in surveys:  # the hub does not read survey topics yet: no zeros to blame
        assert _value(samples, "sisi_deliveries_total", agreement=agreement_id) is None
    assert [r.agreement_id for r in read_compliance(hub.engine, agreement_ids=ids)] == list(ids)

    out = _cli(hub, monkeypatch)
    titles = [line for line in out.splitlines() if not line.startswith((" ", "✗"))]
    assert [title.split(" ")[0] for title in titles] == list(ids)
    # the fixture's copy of LEON expired on 2026-05-31: listed, and said so
    (expired,) = [title for title in titles if title.startswith(EXPIRED)]
    assert expired == f"{EXPIRED} (vencido el 2026-05-31)"
    for survey in surveys:
        assert f"{survey} (convenio de encuesta: el hub todavía no lee sus entregas" in out
    assert out.count("sin entregas") == len(padron)
    listed = json.loads(_cli(hub, monkeypatch, "--json"))
    assert [(r["agreement_id"], r["deliveries"], r["last_delivery_at"]) for r in listed] == [
        (i, 0, None) for i in ids
    ]
    assert [r["agreement_id"] for r in listed if not r["measured"]] == surveys


def test_the_collector_exports_exactly_the_declared_metrics(hub: Hub) -> None:
    _send(hub, [item(1)])
    collector = ComplianceCollector(hub.engine, AgreementSet(hub.settings.agreements_dir))
    names = {
        family.name + ("_total" if family.type == "counter" else "")
        for family in collector.collect()
    }
    assert names == set(METRIC_NAMES)
