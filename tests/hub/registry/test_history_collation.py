"""The history questions answer in the same order on SQLite and on a PostgreSQL database whose
collation is a locale's (es-MX, ICU), as production databases often are: identifiers and names
must not be ordered by the database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from hub.db import make_engine, migrate
from hub.registry import RegistryWriter, enrolled_in, paid_in
from tests.hub.registry.conftest import PROGRAM, header, item


@pytest.fixture
def icu_engine(pg_server_url: str) -> Iterator[Engine]:
    """A migrated PostgreSQL database collated as Mexican Spanish (ICU)."""
    name = f"sisi_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(pg_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(
            text(
                f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'"
                " LOCALE_PROVIDER icu ICU_LOCALE 'es-MX' LOCALE 'C.UTF-8'"
            )
        )
    engine = make_engine(f"{pg_server_url.rsplit('/', 1)[0]}/{name}")
    try:
        migrate(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _load(engine: Engine) -> None:
    writer = RegistryWriter(engine)
    people = [
        ("b-1", "NUZA800101HDFRRR01", "Nuz", "Alba"),
        ("a-1", "NUNA800101HDFRRR02", "Núñez", "Alba"),
        ("B-2", "NUNB800101HDFRRR03", "Nunez", None),
        ("A-2", "NUNC800101HDFRRR04", "nunez", "de la O"),
    ]
    altas = []
    for ref, curp, surname, second in people:
        alta = item(ref, curp=curp, primer_apellido=surname)
        alta["person"]["segundo_apellido"] = second
        altas.append(alta)
    writer.apply(header("a", items=len(altas)), altas)
    pagos = [item(ref, "PAGO", "2025-02-01", curp=curp) for ref, curp, _, _ in people]
    for pago in pagos:
        pago["person"] = next(
            a["person"] for a in altas if a["reference_id"] == pago["reference_id"]
        )
    writer.apply(header("p", items=len(pagos)), pagos)


def test_same_order_on_sqlite_and_a_spanish_collated_postgresql(
    icu_engine: Engine, tmp_path: Path
) -> None:
    sqlite = make_engine(f"sqlite:///{tmp_path / 'registry.sqlite3'}")
    migrate(sqlite)
    answers = []
    for engine in (sqlite, icu_engine):
        _load(engine)
        answers.append(
            (
                [
                    (p.primer_apellido, p.segundo_apellido)
                    for p in enrolled_in(engine, PROGRAM, "2025-01")
                ],
                [r.reference_id for r in paid_in(engine, PROGRAM, "07", 2025).rows],
            )
        )
    sqlite.dispose()
    assert answers[0] == answers[1]
    assert answers[0][1] == ["A-2", "B-2", "a-1", "b-1"]  # identifiers: by code point
