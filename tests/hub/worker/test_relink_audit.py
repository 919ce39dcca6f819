"""A source record that moves to another person is an audited identity decision."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import text

from hub.audit import load_hub_public_key, verify_chain
from hub.audit.store import iter_entries
from hub.registry import person_by_curp
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


def test_a_folio_reused_for_another_curp_is_audited_with_both_people(hub: Hub) -> None:
    first = sealed(hub.engine, change_set(PAM, [item(1), item(2)]))
    hub.pipeline.process(KafkaMessage(topic_of(PAM), 0, 0, first[0], tuple(first[1])))
    ximena = person(1)["curp"]
    before = person_by_curp(hub.engine, ximena)
    assert before is not None
    # the agency sends R0000001 again, later, with another person's valid CURP
    reused = {**item(1), "person": person(7), "effective_date": dt.date(2026, 4, 1)}
    value, headers = sealed(hub.engine, change_set(PAM, [reused]))
    message = KafkaMessage(topic_of(PAM), 0, 1, value, tuple(headers))
    outcome = hub.pipeline.process(message)
    assert outcome.status == "ACCEPTED"

    [(ref, details)] = _relinks(hub)
    assert ref == "R0000001"
    assert details["de_persona"] == before.person["id"]
    after = person_by_curp(hub.engine, person(7)["curp"])
    assert after is not None and details["a_persona"] == after.person["id"]
    assert details["motivo"] == "curp_corregida"
    assert details["persona_anterior_eliminada"] == "true"
    assert person_by_curp(hub.engine, ximena) is None
    assert ximena not in json.dumps(details)  # registry ids only, never a CURP

    hub.pipeline.process(message)  # a redelivery adds nothing
    assert len(_relinks(hub)) == 1
    report = verify_chain(iter_entries(hub.engine), load_hub_public_key(hub.settings))
    assert report.ok, report.render()
