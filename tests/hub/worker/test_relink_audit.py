"""A source record that moves to another person is an audited identity decision."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import text

from hub.audit import load_hub_public_key, verify_chain
from hub.audit.store import iter_entries
from hub.compliance import read_compliance
from hub.contracts.wire import decode
from hub.gatekeeper.schemas import StoreSchemas
from hub.quarantine import list_items
from hub.registry import person_by_curp
from hub.validation.curp import build_curp
from hub.worker import KafkaMessage
from tests.hub.gatekeeper.changesets import PAM, change_set, item, person, sealed, topic_of
from tests.hub.gatekeeper.fixtures import Hub


def _relinks(hub: Hub) -> list[tuple[str, dict[str, str]]]:
    with hub.engine.connect() as conn:
        rows = conn.execute(
            text(
                "select reference_id, details from audit_log "
                "where action = 'RECORD_RELINKED' order by sequence"
            )
        ).all()
    return [
        (ref, json.loads(details) if isinstance(details, str) else details) for ref, details in rows
    ]


def test_a_corrected_curp_is_audited_with_both_people(hub: Hub) -> None:
    first = sealed(hub.engine, change_set(PAM, [item(1), item(2)]))
    hub.pipeline.process(KafkaMessage(topic_of(PAM), 0, 0, first[0], tuple(first[1])))
    ximena = person(1)["curp"]
    before = person_by_curp(hub.engine, ximena)
    assert before is not None
    # the agency corrects R0000001's CURP (its homoclave), later, with a CAMBIO
    corrected = build_curp(ximena[:16], "5" if ximena[16] != "5" else "6")
    fixed = {
        **item(1, operation="CAMBIO", curp=corrected),
        "effective_date": dt.date(2026, 4, 1),
    }
    value, headers = sealed(hub.engine, change_set(PAM, [fixed]))
    message = KafkaMessage(topic_of(PAM), 0, 1, value, tuple(headers))
    outcome = hub.pipeline.process(message)
    assert outcome.status == "ACCEPTED"

    [(ref, details)] = _relinks(hub)
    assert ref == "R0000001"
    assert details["de_persona"] == before.person["id"]
    after = person_by_curp(hub.engine, corrected)
    assert after is not None and details["a_persona"] == after.person["id"]
    assert details["motivo"] == "curp_corregida"
    assert details["persona_anterior_eliminada"] == "true"
    assert person_by_curp(hub.engine, ximena) is None
    assert ximena not in json.dumps(details)  # registry ids only, never a CURP

    hub.pipeline.process(message)  # a redelivery adds nothing
    assert len(_relinks(hub)) == 1
    report = verify_chain(iter_entries(hub.engine), load_hub_public_key(hub.settings))
    assert report.ok, report.render()


def test_a_folio_reused_for_another_person_is_refused_in_the_receipt(hub: Hub) -> None:
    first = sealed(hub.engine, change_set(PAM, [item(1), item(2)]))
    hub.pipeline.process(KafkaMessage(topic_of(PAM), 0, 0, first[0], tuple(first[1])))
    ximena = person(1)["curp"]
    before = person_by_curp(hub.engine, ximena)
    assert before is not None
    # the agency sends a PAGO for R0000001 with another person's valid CURP, and a new ALTA
    reused = {
        **item(1, operation="PAGO"),
        "person": person(7),
        "effective_date": dt.date(2026, 4, 1),
    }
    value, headers = sealed(hub.engine, change_set(PAM, [reused, item(3)]))
    message = KafkaMessage(topic_of(PAM), 0, 1, value, tuple(headers))
    outcome = hub.pipeline.process(message)

    assert outcome.status == "PARTIAL"
    assert outcome.receipt is not None
    receipt = decode(outcome.receipt, StoreSchemas(hub.engine))
    assert receipt["accepted_count"] == 1 and receipt["rejected_count"] == 1
    [rejected] = receipt["rejected"]
    assert (rejected["reference_id"], rejected["reason_code"]) == ("R0000001", "REGISTRO_RECHAZADO")
    reason = rejected["message"]
    assert "la referencia R0000001 ya corresponde a otra persona" in reason
    assert person(7)["nombre"] not in reason
    assert [(q.reference_id, q.reason_code) for q in list_items(hub.engine)] == [
        ("R0000001", "REGISTRO_RECHAZADO")
    ]
    counted = [r.to_dict() for r in read_compliance(hub.engine)]
    assert sum(r["items_accepted"] for r in counted) == 3  # R1 and R2, then R3
    assert [r["rejections_by_reason"] for r in counted if r["rejections_by_reason"]] == [
        {"REGISTRO_RECHAZADO": 1}
    ]
    assert _relinks(hub) == []
    now = person_by_curp(hub.engine, ximena)
    assert now is not None and now.person["id"] == before.person["id"]
    assert now.payments == before.payments and now.history == before.history
    assert person_by_curp(hub.engine, person(7)["curp"]) is None
    assert person_by_curp(hub.engine, person(3)["curp"]) is not None

    again = hub.pipeline.process(message)  # a redelivery repeats the receipt, changes nothing
    assert again.kind == "redelivery" and again.receipt == outcome.receipt
    assert len(list_items(hub.engine)) == 1
    report = verify_chain(iter_entries(hub.engine), load_hub_public_key(hub.settings))
    assert report.ok, report.render()
