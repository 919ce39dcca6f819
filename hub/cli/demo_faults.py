"""What the gatekeeper refuses, sent by ``sisi up --demo`` so that its refusals can be seen.

The sample agencies' files have bad rows, but their producer catches those before sending, so a
demo hub would never refuse anything. After each round of deliveries, ``sisi up --demo`` also
sends, on one agency's topic (a different one each round), three change sets a real hub meets:

- one item whose program is not in the agreement, signed with the agency's (demo) key: the item
  is refused with ``PROGRAMA_FUERA_DE_CONVENIO`` and the agency gets a receipt;
- the same message again, byte for byte: ``MENSAJE_REPETIDO`` (a replay changes nothing);
- a change set signed with another agency's key: ``FIRMA_INVALIDA`` (no receipt: the sender is
  not who it says).

They end in the quarantine (``sisi quarantine list``), the audit log and the compliance counters
like any other refusal. Demo keys only: these agreements are ``environment: demo``.

Each fault is a change set of its own (its own transaction and message id, reference
``DEMO-FALLA-…``, effective the day it is sent), never a chunk slipped into an agency's real
delivery: compliance sees what a real agency's bad change set would look like, and the real
deliveries' figures (items, lag) stay theirs.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Any

from confluent_kafka import Producer
from sqlalchemy.engine import Engine

from hub.agreements.keys import demo_private_key
from hub.agreements.model import Agreement
from hub.contracts.schema_text import parse_schema
from hub.contracts.wire import encode
from hub.envelope import seal
from hub.errors import SisiError
from hub.kafka_log import kafka_logger
from hub.schema_registry.store import SchemaStore

__all__ = ["CHANGESET_SUBJECT", "OUTSIDE_PROGRAM", "fault_messages", "send_faults"]

CHANGESET_SUBJECT = "mx.gob.sisi.padron.ChangeSet"
#: A program key no agreement covers.
OUTSIDE_PROGRAM = "U999"

#: value, headers and key of a Kafka record
Message = tuple[bytes, list[tuple[str, bytes]], bytes]


def _record(agreement: Agreement, now: dt.datetime) -> dict[str, Any]:
    program = agreement.programs[0]
    reference = f"DEMO-FALLA-{uuid.uuid4().hex[:10].upper()}"
    return {
        "message_id": str(uuid.uuid4()),
        "transaction_id": str(uuid.uuid4()),
        "sender_id": agreement.parties.agency.key,
        "agreement_id": agreement.id,
        "sent_at": now,
        "chunk_index": 0,
        "chunk_count": 1,
        "item_count": 1,
        "items": [
            {
                "reference_id": reference,
                "operation": "ALTA",
                "effective_date": now.date(),
                "person": {
                    "curp": None,
                    "primer_apellido": "PRUEBA",
                    "segundo_apellido": None,
                    "nombre": "DEMOSTRACION",
                    "fecha_nacimiento": None,
                    "entidad_nacimiento": None,
                    "sexo": None,
                    "discapacidad": None,
                    "indigena": None,
                },
                "benefit": {
                    "clave_programa": OUTSIDE_PROGRAM,
                    "tipo_beneficio": program.benefit.types[0],
                    "monto": Decimal("1000.00"),
                    "fecha_beneficio": None,
                    "titular": None,
                },
                "geography": None,
            }
        ],
    }


def fault_messages(
    engine: Engine, agreement: Agreement, other: Agreement, now: dt.datetime | None = None
) -> list[tuple[str, Message]]:
    """``(description, (value, headers, key))`` of the three faults for ``agreement``'s topic;
    ``other`` is the agreement whose key signs the forged one."""
    now = now or dt.datetime.now(dt.UTC)
    version = max(
        v for c in agreement.contracts if c.subject == CHANGESET_SUBJECT for v in c.versions
    )
    registered = SchemaStore(engine).get_version(CHANGESET_SUBJECT, version)
    parsed = parse_schema(json.loads(registered.schema))
    key = demo_private_key(agreement.id)

    record = _record(agreement, now)
    value = encode(registered.id, parsed, record)
    headers = seal(key, agreement.id, record["message_id"], value).headers

    forged_record = _record(agreement, now)
    forged = encode(registered.id, parsed, forged_record)
    forged_headers = seal(
        demo_private_key(other.id), agreement.id, forged_record["message_id"], forged
    ).headers
    key_bytes = record["message_id"].encode()
    return [
        (f"programa {OUTSIDE_PROGRAM} fuera del convenio", (value, headers, key_bytes)),
        ("el mismo mensaje repetido", (value, headers, key_bytes)),
        (
            f"firmado con la llave de {other.id}",
            (forged, forged_headers, forged_record["message_id"].encode()),
        ),
    ]


def send_faults(
    bootstrap: str, engine: Engine, agreement: Agreement, other: Agreement
) -> list[str]:
    """Publish the faults on ``agreement``'s topic; the descriptions of what was sent."""
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "logger": kafka_logger("hub.librdkafka"),  # no raw librdkafka lines on the terminal
        }
    )
    sent: list[str] = []
    for description, (value, headers, key) in fault_messages(engine, agreement, other):
        kafka_headers: list[tuple[str, str | bytes | None]] = list(headers)
        producer.produce(agreement.changes_topic, value=value, headers=kafka_headers, key=key)
        producer.flush(30)  # in order: the replay follows its original
        sent.append(description)
    if producer.flush(30):
        raise SisiError("el broker no confirmó los mensajes de falla de la demostración")
    return sent
