"""A folio without CURP that learns a known CURP: joins its holder (audited), or is refused."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from hub.audit import load_hub_public_key, verify_chain
from hub.audit.store import iter_entries
from hub.contracts.wire import decode
from hub.gatekeeper.schemas import StoreSchemas
from hub.quarantine import list_items
from hub.registry import person_by_curp
from hub.worker import KafkaMessage
from tests.hub.gatekeeper.changesets import PAM, change_set, item, person, sealed, topic_of
from tests.hub.gatekeeper.fixtures import Hub
from tests.hub.worker.test_relink_audit import _relinks


def _person_id(hub: Hub, ref: str) -> str:
    with hub.engine.connect() as conn:
        found = conn.execute(
            text("select person_id from source_records where reference_id = :r"), {"r": ref}
        )
        return str(found.scalar_one())


def test_a_learned_curp_joins_its_holder_or_is_refused_for_someone_else(hub: Hub) -> None:
    ximena = person(1)
    # R0000001 has the CURP; R0000002 is somebody else without CURP; R0000003 is the same person
    # as R0000001, sent without CURP
    first = [item(1), item(2, curp=None), {**item(3), "person": {**ximena, "curp": None}}]
    value, headers = sealed(hub.engine, change_set(PAM, first))
    outcome = hub.pipeline.process(KafkaMessage(topic_of(PAM), 0, 0, value, tuple(headers)))
    assert outcome.status == "ACCEPTED"
    scoped = _person_id(hub, "R0000003")
    holder = person_by_curp(hub.engine, ximena["curp"])
    assert holder is not None and scoped != holder.person["id"]
    other = _person_id(hub, "R0000002")

    later = dt.date(2026, 4, 1)
    learned = {**item(3, operation="CAMBIO"), "person": ximena, "effective_date": later}
    # R0000002's folio reused for Ximena (the gatekeeper checks her CURP against her data)
    reused = {**item(2, operation="CAMBIO"), "person": ximena, "effective_date": later}
    value, headers = sealed(hub.engine, change_set(PAM, [learned, reused]))
    message = KafkaMessage(topic_of(PAM), 0, 1, value, tuple(headers))
    outcome = hub.pipeline.process(message)

    assert outcome.status == "PARTIAL"
    assert outcome.receipt is not None
    receipt = decode(outcome.receipt, StoreSchemas(hub.engine))
    assert receipt["accepted_count"] == 1 and receipt["rejected_count"] == 1
    [rejected] = receipt["rejected"]
    assert (rejected["reference_id"], rejected["reason_code"]) == ("R0000002", "REGISTRO_RECHAZADO")
    assert "la referencia R0000002 se registró sin CURP" in rejected["message"]
    assert person(2)["nombre"] not in rejected["message"]
    assert ximena["nombre"] not in rejected["message"]
    assert [(q.reference_id, q.reason_code) for q in list_items(hub.engine)] == [
        ("R0000002", "REGISTRO_RECHAZADO")
    ]
    assert _person_id(hub, "R0000002") == other  # still its own person

    [(ref, details)] = _relinks(hub)
    assert ref == "R0000003"
    assert details == {
        "de_persona": scoped,
        "a_persona": holder.person["id"],
        "motivo": "curp_conocida",
        "persona_anterior_eliminada": "true",
    }
    assert _person_id(hub, "R0000003") == holder.person["id"]

    again = hub.pipeline.process(message)  # a redelivery repeats the receipt, changes nothing
    assert again.kind == "redelivery" and again.receipt == outcome.receipt
    assert len(_relinks(hub)) == 1 and len(list_items(hub.engine)) == 1
    report = verify_chain(iter_entries(hub.engine), load_hub_public_key(hub.settings))
    assert report.ok, report.render()
