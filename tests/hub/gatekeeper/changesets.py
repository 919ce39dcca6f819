"""Test factories: valid padrón items, change sets framed with the hub's registry, sealed."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Engine

from hub.agreements.keys import demo_private_key
from hub.contracts.schema_text import parse_schema
from hub.contracts.wire import encode
from hub.envelope import seal
from hub.schema_registry.store import SchemaStore
from hub.validation.curp import build_curp
from hub.validation.curp_stem import curp_stem

SUBJECT = "mx.gob.sisi.padron.ChangeSet"
PAM = "CONV-BIENESTAR-PAM-2026"
BECAS = "CONV-CNBBBJ-BUEMS-2026"
_FIRST = ("MARIA", "JUAN", "ROSA", "PEDRO", "ELENA", "JOSE", "LUISA", "CARLOS")
_LAST = ("GARCIA", "LOPEZ", "MARTINEZ", "HERNANDEZ", "PEREZ", "SANCHEZ", "RAMIREZ", "TORRES")


def person(i: int) -> dict[str, Any]:
    """A person with a CURP consistent with the record (unique for i < 90,000)."""
    born = dt.date(1940, 1, 1) + dt.timedelta(days=i % 9000)
    nombre = _FIRST[i % len(_FIRST)]
    primer = _LAST[(i // 8) % len(_LAST)]
    segundo = _LAST[(i // 64) % len(_LAST)]
    sexo = "M" if nombre in ("MARIA", "ROSA", "ELENA", "LUISA") else "H"
    stem = curp_stem(primer, segundo, nombre, born, sexo, "DF")
    return {
        "curp": build_curp(stem, str((i // 9000) % 10)),
        "primer_apellido": primer,
        "segundo_apellido": segundo,
        "nombre": nombre,
        "fecha_nacimiento": born,
        "entidad_nacimiento": "DF",
        "sexo": sexo,
        "discapacidad": None,
        "indigena": None,
    }


def item(i: int, *, program: str = "S176", operation: str = "ALTA", **person_extra: Any) -> dict:
    """A valid ALTA item for reference ``R<i>``."""
    return {
        "reference_id": f"R{i:07d}",
        "operation": operation,
        "effective_date": dt.date(2026, 3, 1),
        "person": {**person(i), **person_extra},
        "benefit": {
            "clave_programa": program,
            "tipo_beneficio": "MONETARIO",
            "monto": Decimal("6200.00"),
            "fecha_beneficio": dt.date(2026, 3, 15),
            "titular": None,
        },
        "geography": {"cve_ent": "09", "cve_mun": "015", "cve_loc": None, "domicilio": None},
    }


def change_set(
    agreement_id: str,
    items: list[dict],
    *,
    message_id: str | None = None,
    transaction_id: str | None = None,
    sent_at: dt.datetime | None = None,
    chunk: tuple[int, int] = (0, 1),
) -> dict[str, Any]:
    """A ChangeSet record."""
    return {
        "message_id": message_id or str(uuid.uuid4()),
        "transaction_id": transaction_id or str(uuid.uuid4()),
        "sender_id": "BIENESTAR",
        "agreement_id": agreement_id,
        "sent_at": sent_at or dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC),
        "chunk_index": chunk[0],
        "chunk_count": chunk[1],
        "item_count": len(items),
        "items": items,
    }


def frame(engine: Engine, record: dict[str, Any], version: int = 1) -> bytes:
    """``record`` in Confluent framing with the registry's id of ChangeSet ``version``."""
    registered = SchemaStore(engine).get_version(SUBJECT, version)
    import json

    parsed = parse_schema(json.loads(registered.schema))
    return encode(registered.id, parsed, record)


def sealed(
    engine: Engine,
    record: dict[str, Any],
    *,
    version: int = 1,
    key: Ed25519PrivateKey | None = None,
    header_agreement: str | None = None,
) -> tuple[bytes, list[tuple[str, bytes]]]:
    """(value, headers) signed with the agreement's demo key (or ``key``)."""
    agreement_id = header_agreement or record["agreement_id"]
    value = frame(engine, record, version)
    signer = key or demo_private_key(agreement_id)
    envelope = seal(signer, agreement_id, record["message_id"], value)
    return value, envelope.headers


def topic_of(agreement_id: str) -> str:
    return f"sisi.agreement.{agreement_id}.changesets"
