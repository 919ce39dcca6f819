"""Registry test helpers: a migrated database of each kind, item factories, state snapshots."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.engine import Engine

from hub.db import Base, migrate
from hub.registry import REGISTRY_TABLES, ChangeItem, ChangeSetHeader

AGREEMENT = "CONV-BIENESTAR-07"
PROGRAM = "S176"


@pytest.fixture
def registry(db_engine: Engine) -> Iterator[Engine]:
    """A freshly migrated database (SQLite, then PostgreSQL)."""
    migrate(db_engine)
    yield db_engine


def header(
    message_id: str = "msg-1",
    *,
    agreement: str = AGREEMENT,
    transaction: str = "tx-1",
    sent_at: dt.datetime | None = None,
    chunk: int = 0,
    chunks: int = 1,
    items: int = 1,
) -> ChangeSetHeader:
    return {
        "message_id": message_id,
        "transaction_id": transaction,
        "sender_id": "BIENESTAR",
        "agreement_id": agreement,
        "sent_at": sent_at or dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC),
        "chunk_index": chunk,
        "chunk_count": chunks,
        "item_count": items,
    }


def item(
    ref: str,
    operation: str = "ALTA",
    effective: dt.date | str = "2025-01-10",
    *,
    curp: str | None = "PEGJ800101HCSRRN01",
    nombre: str = "Juan",
    primer_apellido: str = "Pérez",
    program: str | None = PROGRAM,
    monto: str = "1500.00",
    tipo: str = "MONETARIO",
    fecha_beneficio: dt.date | str | None = None,
    geo: tuple[str, str, str | None] | None = ("07", "089", "0001"),
) -> ChangeItem:
    if isinstance(effective, str):
        effective = dt.date.fromisoformat(effective)
    if isinstance(fecha_beneficio, str):
        fecha_beneficio = dt.date.fromisoformat(fecha_beneficio)
    result: dict[str, Any] = {
        "reference_id": ref,
        "operation": operation,
        "effective_date": effective,
        "person": {
            "curp": curp,
            "primer_apellido": primer_apellido,
            "segundo_apellido": "García",
            "nombre": nombre,
            "fecha_nacimiento": dt.date(1980, 1, 1),
            "entidad_nacimiento": "CS",
            "sexo": "H",
            "discapacidad": None,
            "indigena": True,
        },
        "benefit": None
        if program is None
        else {
            "clave_programa": program,
            "tipo_beneficio": tipo,
            "monto": Decimal(monto),
            "fecha_beneficio": fecha_beneficio,
            "titular": True,
        },
        "geography": None
        if geo is None
        else {"cve_ent": geo[0], "cve_mun": geo[1], "cve_loc": geo[2], "domicilio": "Calle 1"},
    }
    return result  # type: ignore[return-value]


_VOLATILE = {"created_at", "updated_at", "applied_at", "first_applied_at", "last_applied_at", "id"}


def _norm(value: Any) -> Any:
    if isinstance(value, dt.datetime):  # SQLite hands back naive UTC, PostgreSQL aware UTC
        return (
            value.replace(tzinfo=None)
            if value.tzinfo is None
            else value.astimezone(dt.UTC).replace(tzinfo=None)
        )
    return value


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every registry row; random ids replaced by natural keys, wall-clock times left out."""
    tables = Base.metadata.tables
    with engine.connect() as conn:
        records = conn.execute(select(tables["source_records"])).mappings().all()
        people = conn.execute(select(tables["people"])).mappings().all()
        natural: dict[str, str] = {}
        for person in people:
            natural[person["id"]] = person["curp"] or ""
        for record in records:
            if not natural.get(record["person_id"]):
                natural[record["person_id"]] = (
                    f"rec:{record['agreement_id']}/{record['reference_id']}"
                )
        state: dict[str, list[tuple[Any, ...]]] = {}
        for name in REGISTRY_TABLES:
            rows = []
            for row in conn.execute(select(tables[name])).mappings():
                values = []
                for key, value in row.items():
                    if key in _VOLATILE and not (name == "people" and key == "id"):
                        continue
                    if key == "person_id" or (name == "people" and key == "id"):
                        value = natural.get(value, value)
                    values.append((key, _norm(value)))
                rows.append(tuple(values))
            state[name] = sorted(rows, key=repr)
    return state


def clear(engine: Engine) -> None:
    """Empty every registry table (to replay a scenario in the same database)."""
    with engine.begin() as conn:
        for name in reversed(REGISTRY_TABLES):
            conn.execute(delete(Base.metadata.tables[name]))
