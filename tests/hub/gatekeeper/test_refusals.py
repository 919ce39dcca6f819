"""Each way into the hub without right is refused with its own reason, quarantined and counted."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.agreements.keys import demo_private_key
from hub.compliance import UNKNOWN_AGREEMENT, read_compliance
from hub.envelope import seal
from hub.quarantine import list_items
from hub.worker import KafkaMessage
from tests.hub.gatekeeper.changesets import BECAS, PAM, change_set, frame, item, sealed, topic_of
from tests.hub.gatekeeper.fixtures import EXPIRED, Hub


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Hub], tuple[str, bytes, list[tuple[str, bytes]]]]
    code: str
    agreement: str
    field: str | None = None
    item_level: bool = False


def _pam(hub: Hub, *items_: dict, **kw) -> tuple[str, bytes, list[tuple[str, bytes]]]:
    value, headers = sealed(hub.engine, change_set(PAM, list(items_)), **kw)
    return topic_of(PAM), value, headers


def _tampered(hub: Hub):
    topic, value, headers = _pam(hub, item(1))
    return topic, value[:-1] + bytes([value[-1] ^ 1]), headers


def _unknown(hub: Hub):
    record = change_set("CONV-NADIE-2026", [item(2)])
    value = frame(hub.engine, record)
    key = demo_private_key("CONV-NADIE-2026")
    return topic_of(PAM), value, seal(key, "CONV-NADIE-2026", record["message_id"], value).headers


def _wrong_topic(hub: Hub):
    _, value, headers = _pam(hub, item(3))
    return topic_of(BECAS), value, headers


def _expired(hub: Hub):
    value, headers = sealed(hub.engine, change_set(EXPIRED, [item(4, program="LEON-JEFAS")]))
    return topic_of(EXPIRED), value, headers


def _unreadable(hub: Hub):
    value = b"\x00\x00\x00\x27\x10not avro at all"
    return topic_of(PAM), value, seal(demo_private_key(PAM), PAM, "m-unreadable", value).headers


def _becas_v2(hub: Hub):
    record = change_set(BECAS, [item(5, program="S311")])
    value, headers = sealed(hub.engine, record, version=2)
    return topic_of(BECAS), value, headers


def _body_mismatch(hub: Hub):
    record = change_set(BECAS, [item(6)])
    value, headers = sealed(hub.engine, record, header_agreement=PAM)
    return topic_of(PAM), value, headers


CASES = [
    Case("firma falsificada", lambda h: _pam(h, item(10), key=Ed25519PrivateKey.generate()),
         "FIRMA_INVALIDA", PAM),
    Case("llave de otra dependencia", lambda h: _pam(h, item(11), key=demo_private_key(BECAS)),
         "FIRMA_INVALIDA", PAM),
    Case("valor alterado tras firmar", _tampered, "FIRMA_INVALIDA", PAM),
    Case("convenio desconocido", _unknown, "CONVENIO_DESCONOCIDO", UNKNOWN_AGREEMENT),
    Case("tema de otro convenio", _wrong_topic, "TOPICO_INCORRECTO", PAM),
    Case("convenio vencido", _expired, "CONVENIO_NO_VIGENTE", EXPIRED),
    Case("valor ilegible", _unreadable, "MENSAJE_ILEGIBLE", PAM),
    Case("versión no permitida", _becas_v2, "ESQUEMA_NO_PERMITIDO", BECAS),
    Case("cuerpo de otro convenio", _body_mismatch, "CONVENIO_NO_COINCIDE", PAM, "agreement_id"),
    Case("programa fuera del convenio", lambda h: _pam(h, item(20, program="S311")),
         "PROGRAMA_FUERA_DE_CONVENIO", PAM, "clave_programa", True),
    Case("campo fuera del alcance",
         lambda h: _pam(h, {**item(21), "benefit": {**item(21)["benefit"], "titular": True}}),
         "CAMPO_FUERA_DE_ALCANCE", PAM, "titular", True),
    Case("dato sensible no declarado", lambda h: _pam(h, item(22, discapacidad=True)),
         "CAMPO_FUERA_DE_ALCANCE", PAM, "discapacidad", True),
    Case("CURP con dígito verificador erróneo",
         lambda h: _pam(h, item(23, curp=item(23)["person"]["curp"][:17] + "0")
                    if item(23)["person"]["curp"][17] != "0"
                    else item(23, curp=item(23)["person"]["curp"][:17] + "1")),
         "CURP_CHECK_DIGIT", PAM, "curp", True),
]


#: Refusals before the signature is verified: counted apart from the agreement they claim.
_BEFORE_AUTHENTICATION = {"FIRMA_INVALIDA", "TOPICO_INCORRECTO", "CONVENIO_DESCONOCIDO"}


def test_each_refusal_has_its_reason_in_quarantine_and_compliance(hub: Hub) -> None:
    problems: list[str] = []
    for offset, case in enumerate(CASES):
        topic, value, headers = case.build(hub)
        outcome = hub.pipeline.process(KafkaMessage(topic, 0, offset, value, tuple(headers)))
        verdict = outcome.verdict
        assert verdict is not None
        if case.item_level:
            got = [r.code for r in verdict.rejected]
            fields = [r.field for r in verdict.rejected]
            if got != [case.code] or fields != [case.field] or verdict.accepted:
                problems.append(f"{case.name}: {got} {fields}")
        else:
            refusal = verdict.refusal
            if refusal is None or refusal.code != case.code:
                problems.append(f"{case.name}: {refusal}")
            elif case.field and refusal.field != case.field:
                problems.append(f"{case.name}: campo {refusal.field}")
            elif not refusal.message or refusal.message == refusal.code:
                problems.append(f"{case.name}: sin mensaje en español")
        quarantined = [q for q in list_items(hub.engine) if q.offset == offset]
        if [q.reason_code for q in quarantined] != [case.code]:
            problems.append(f"{case.name}: cuarentena {[q.reason_code for q in quarantined]}")
    assert problems == []

    totals = {row.agreement_id: row for row in read_compliance(hub.engine)}
    for case in CASES:
        row = totals[case.agreement]
        if case.item_level:
            counted = row.item_rejections
        elif case.code in _BEFORE_AUTHENTICATION:  # not the agency's: anyone can send these
            counted = row.unverified_rejections
            assert case.code not in row.message_rejections, (case.name, row.message_rejections)
        else:
            counted = row.message_rejections
        assert counted.get(case.code, 0) >= 1, (case.name, counted)
    assert totals[PAM].unverified_rejections["FIRMA_INVALIDA"] == 3
    assert totals[PAM].item_rejections["CAMPO_FUERA_DE_ALCANCE"] == 2
    assert totals[PAM].items_accepted == 0
    # unauthenticated refusals do not count items (their bodies are never read)
    assert totals[UNKNOWN_AGREEMENT].counters["items_received"] == 0
    # an expired agreement's authenticated body is read for the receipt and counted as refused
    assert totals[EXPIRED].item_rejections == {"CONVENIO_NO_VIGENTE": 1}


def test_replayed_message_is_quarantined_and_counted_without_other_effects(hub: Hub) -> None:
    topic, value, headers = _pam(hub, item(30), item(31))
    first = hub.pipeline.process(KafkaMessage(topic, 0, 0, value, tuple(headers)))
    assert first.status == "ACCEPTED"
    before = read_compliance(hub.engine)[0]
    head = hub.pipeline.audit.head()

    again = hub.pipeline.process(KafkaMessage(topic, 1, 7, value, tuple(headers)))

    assert again.kind == "replay" and again.reason_code == "MENSAJE_REPETIDO"
    assert again.receipt == first.receipt  # the agency gets its original receipt again
    assert [q.reason_code for q in list_items(hub.engine)] == ["MENSAJE_REPETIDO"]
    after = read_compliance(hub.engine)[0]
    assert after.items_accepted == before.items_accepted == 2
    assert after.counters["replays"] == 1 and after.counters["replayed_items"] == 2
    # the replay is the hub's figure: the agency's rejections and ratios do not move
    assert after.message_rejections == before.message_rejections == {}
    assert after.duplicate_ratio == before.duplicate_ratio == 0.0
    assert hub.pipeline.audit.head() == head
    with hub.engine.connect() as conn:
        from sqlalchemy import text

        assert conn.execute(text("select count(*) from applied_items")).scalar_one() == 2


def test_a_reference_repeated_with_other_content_is_refused_not_dropped(hub: Hub) -> None:
    """An ALTA and a PAGO of one padrón row in one change set share the idempotency key
    (agreement, message, reference): the PAGO would be taken for a duplicate of the ALTA and
    silently lost. It is refused with its own reason instead; an exact repetition is a duplicate."""
    alta = item(40)
    pago = item(40, operation="PAGO")
    topic, value, headers = _pam(hub, alta, pago, item(41), item(41))
    outcome = hub.pipeline.process(KafkaMessage(topic, 0, 0, value, tuple(headers)))

    assert outcome.status == "PARTIAL" and outcome.verdict is not None
    (refused,) = outcome.verdict.rejected
    assert (refused.reference_id, refused.code, refused.field) == (
        "R0000040",
        "REFERENCIA_REPETIDA",
        "reference_id",
    )
    assert "ALTA" in refused.message and "PAGO" in refused.message
    assert [q.reason_code for q in list_items(hub.engine)] == ["REFERENCIA_REPETIDA"]
    row = read_compliance(hub.engine)[0]
    assert row.item_rejections == {"REFERENCIA_REPETIDA": 1}
    # the exact repetition of R41 is one duplicate, accepted and counted once
    assert len(outcome.verdict.accepted) == 2
    assert (row.counters["items_received"], row.items_accepted) == (4, 2)
    assert row.counters["duplicates"] == 2  # the PAGO of R40 and the second R41
    with hub.engine.connect() as conn:
        from sqlalchemy import text

        applied = conn.execute(text("select reference_id, operation from applied_items"))
        assert sorted(applied.all()) == [("R0000040", "ALTA"), ("R0000041", "ALTA")]


def test_a_set_refused_with_a_receipt_claims_its_identity(hub: Hub) -> None:
    """The agency got REJECTED and its producer sends the items again in a new change set: the
    same bytes processed later (an operator's replay from quarantine) must not store them too."""
    gatekeeper = hub.pipeline.gatekeeper
    today = gatekeeper._today
    pago = item(50, operation="PAGO")
    topic, value, headers = _pam(hub, pago)
    gatekeeper._today = dt.date(2025, 12, 1)  # the agreement is not in force yet
    refused = hub.pipeline.process(KafkaMessage(topic, 0, 0, value, tuple(headers)))
    gatekeeper._today = today
    assert refused.reason_code == "CONVENIO_NO_VIGENTE" and refused.receipt is not None

    topic2, value2, headers2 = _pam(hub, pago)  # the producer's resend, under a new message id
    assert hub.pipeline.process(KafkaMessage(topic2, 0, 1, value2, tuple(headers2))).status == (
        "ACCEPTED"
    )
    again = hub.pipeline.process(KafkaMessage(topic, 0, 2, value, tuple(headers)))  # the replay
    assert (again.kind, again.reason_code) == ("replay", "MENSAJE_REPETIDO")
    assert again.receipt == refused.receipt
    with hub.engine.connect() as conn:
        from sqlalchemy import text

        paid = conn.execute(text("select count(*) from benefits_paid")).scalar_one()
    assert paid == 1


def test_each_refusal_of_a_repeated_reference_has_its_audit_entry(hub: Hub) -> None:
    alta, pago, cambio = item(60), item(60, operation="PAGO"), item(60, operation="CAMBIO")
    topic, value, headers = _pam(hub, alta, pago, cambio)
    message = KafkaMessage(topic, 0, 0, value, tuple(headers))
    outcome = hub.pipeline.process(message)
    assert outcome.verdict is not None
    assert [r.code for r in outcome.verdict.rejected] == ["REFERENCIA_REPETIDA"] * 2
    with hub.engine.connect() as conn:
        from sqlalchemy import text

        count = "select count(*) from audit_log where action = 'ITEM_REJECTED'"
        assert conn.execute(text(count)).scalar_one() == 2
        assert hub.pipeline.process(message).kind == "redelivery"  # nothing added again
        assert conn.execute(text(count)).scalar_one() == 2
    from hub.audit.store import first_mismatched_key

    assert first_mismatched_key(hub.engine) is None  # '#2' keys are the hub's own
