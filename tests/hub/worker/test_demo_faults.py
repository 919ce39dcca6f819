"""The demo's faults are refused by the real pipeline, each with its own reason, and quarantined."""

from __future__ import annotations

import datetime as dt

from hub.agreements import load_agreements
from hub.cli.demo_faults import OUTSIDE_PROGRAM, fault_messages
from hub.quarantine import list_items
from hub.worker import KafkaMessage
from tests.hub.gatekeeper.changesets import BECAS, PAM
from tests.hub.gatekeeper.fixtures import TODAY, Hub


def test_each_demo_fault_is_refused_with_its_reason(hub: Hub) -> None:
    agreements = load_agreements(hub.settings.agreements_dir)
    pam, becas = agreements.get(PAM), agreements.get(BECAS)
    now = dt.datetime.combine(TODAY, dt.time(12), tzinfo=dt.UTC)
    faults = fault_messages(hub.engine, pam, becas, now)
    assert faults[0][0] == f"programa {OUTSIDE_PROGRAM} fuera del convenio"

    outcomes = [
        hub.pipeline.process(KafkaMessage(pam.changes_topic, 0, n, value, tuple(headers)))
        for n, (_, (value, headers, _key)) in enumerate(faults)
    ]
    outside, replay, forged = outcomes
    assert outside.status == "REJECTED" and outside.verdict is not None
    assert [r.code for r in outside.verdict.rejected] == ["PROGRAMA_FUERA_DE_CONVENIO"]
    assert outside.receipt is not None  # the agency hears about it
    assert (replay.kind, replay.reason_code) == ("replay", "MENSAJE_REPETIDO")
    assert forged.reason_code == "FIRMA_INVALIDA" and forged.receipt is None

    reasons = sorted(entry.reason_code for entry in list_items(hub.engine))
    assert reasons == ["FIRMA_INVALIDA", "MENSAJE_REPETIDO", "PROGRAMA_FUERA_DE_CONVENIO"]
