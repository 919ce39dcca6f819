"""Invariant 5 for list reads: every person a list read shows is recorded with the read (in
``audit_read_subjects``, in the entry's transaction) and the chain covers those rows through the
entry's ``people_sha256``, so ``sisi audit verify`` (run as an operator runs it) finds a row
deleted, added or changed, in Spanish, exit 1 (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from hub.audit import AuditLog, load_or_create_hub_key
from hub.audit.store import PersonalDataError, personal_reads
from hub.audit.verify import people_digest
from hub.db import make_engine, migrate
from hub.settings import Settings
from hub.validation.curp import check_digit
from tests.hub.audit.conftest import accepted, sisi
from tests.hub.audit.test_tamper_columns import failed

CURP = "GOMC800101HDFRRR0" + check_digit("GOMC800101HDFRRR0")


def _rows(engine: Engine) -> list[tuple[int, str]]:
    with engine.connect() as conn:
        found = conn.execute(text("SELECT sequence, person_id FROM audit_read_subjects"))
        return sorted((int(seq), str(pid)) for seq, pid in found)


def _run_sql(engine: Engine, statement: str, **params: object) -> None:
    with engine.begin() as conn:
        conn.execute(text(statement), params)


@pytest.fixture
def hub(db_url: str, audit_engine: Engine, tmp_path: Path) -> tuple[dict[str, str], AuditLog]:
    """Entry 1 a person read, 2 a list of three people, 3 an empty list, 4 a list of one."""
    data_dir = tmp_path / "var"
    log = AuditLog(audit_engine, load_or_create_hub_key(Settings(data_dir=data_dir)))
    log.read_personal("operador:ana", "aclaración de pago folio 7", "p-ana")
    time.sleep(0.003)
    log.read_personal(
        "operador:ana",
        "padrón de noviembre para la ASF",
        "inscritos:S176:2026-11",
        {"command": "registry enrolled"},
        people=["p-juan", "p-ana", "p-luz", "p-ana"],  # a person shown twice is one row
    )
    time.sleep(0.003)
    log.read_personal("operador:ana", "padrón vacío", "inscritos:S176:1999-01", people=[])
    time.sleep(0.003)
    log.read_personal(
        "operador:eva", "pagos del municipio", "pagos:S176:07089:2026", people=["p-luz"]
    )
    return {"SISI_DATABASE_URL": db_url, "SISI_DATA_DIR": str(data_dir)}, log


def test_a_list_read_records_every_person_it_showed_under_the_chain(
    hub: tuple[dict[str, str], AuditLog], audit_engine: Engine
) -> None:
    env, log = hub
    assert _rows(audit_engine) == [(2, "p-ana"), (2, "p-juan"), (2, "p-luz"), (4, "p-luz")]
    entry = log.entries_for([2])[0]
    assert entry.details["people"] == "3"
    expected = hashlib.sha256(b"p-ana\np-juan\np-luz").hexdigest()
    assert entry.details["people_sha256"] == expected == people_digest(["p-luz", "p-juan", "p-ana"])
    assert log.entries_for([3])[0].details["people"] == "0"
    assert "people_sha256" not in log.entries_for([1])[0].details  # a person read: no list
    result = sisi(env, "verify")
    assert result.returncode == 0, result.stderr
    assert "bitácora íntegra: 4 entradas verificadas" in result.stdout
    reads = {
        pid: [(e.sequence, how) for e, how in personal_reads(audit_engine, pid)]
        for pid in ("p-ana", "p-luz", "p-juan", "p-nadie")
    }
    assert reads == {
        "p-ana": [(1, "persona"), (2, "lista")],
        "p-luz": [(2, "lista"), (4, "lista")],
        "p-juan": [(2, "lista")],
        "p-nadie": [],
    }


def test_a_curp_among_the_people_is_refused_and_nothing_is_recorded(
    audit_engine: Engine, tmp_path: Path
) -> None:
    log = AuditLog(audit_engine, load_or_create_hub_key(Settings(data_dir=tmp_path / "var")))
    with pytest.raises(PersonalDataError) as refused:
        log.read_personal("operador:ana", "padrón de noviembre", "lista:1", people=["p-1", CURP])
    assert refused.value.field == "people" and CURP not in refused.value.render()
    with pytest.raises(PersonalDataError):
        log.read_personal("operador:ana", "x", "lista:1", people=["p-1"])  # purpose says nothing
    assert log.head().is_empty and _rows(audit_engine) == []


def test_the_rows_roll_back_with_the_entry(audit_engine: Engine, tmp_path: Path) -> None:
    """A failure while writing the rows leaves neither rows nor entry (one transaction)."""
    log = AuditLog(audit_engine, load_or_create_hub_key(Settings(data_dir=tmp_path / "var")))
    _run_sql(
        audit_engine, "INSERT INTO audit_read_subjects (sequence, person_id) VALUES (1, 'p-2')"
    )
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        log.read_personal("operador:ana", "padrón de noviembre", "lista:1", people=["p-1", "p-2"])
    assert log.head().is_empty
    assert _rows(audit_engine) == [(1, "p-2")]


@pytest.mark.parametrize(
    ("statement", "sequence", "problem", "says"),
    [
        (
            "DELETE FROM audit_read_subjects WHERE sequence = 2 AND person_id = 'p-juan'",
            2,
            "DELETED",
            "registra 3 personas leídas pero audit_read_subjects tiene 2 filas para ella: "
            "faltan 1; se borraron filas",
        ),
        (
            "INSERT INTO audit_read_subjects (sequence, person_id) VALUES (4, 'p-eva')",
            4,
            "EDITED",
            "sobran 1; se agregaron filas",
        ),
        (
            "UPDATE audit_read_subjects SET person_id = 'p-eva' WHERE person_id = 'p-juan'",
            2,
            "EDITED",
            "no son las personas que la entrada registró",
        ),
        (  # an empty list gains a person
            "INSERT INTO audit_read_subjects (sequence, person_id) VALUES (3, 'p-eva')",
            3,
            "EDITED",
            "registra 0 personas leídas pero audit_read_subjects tiene 1 fila para ella",
        ),
        (  # a person read (no list) gains a list
            "INSERT INTO audit_read_subjects (sequence, person_id) VALUES (1, 'p-eva')",
            1,
            "EDITED",
            "que no registra una lista de personas leídas",
        ),
        (  # a row moved to another list read
            "UPDATE audit_read_subjects SET sequence = 4 WHERE person_id = 'p-ana'",
            2,
            "DELETED",
            "faltan 1",
        ),
        ("DELETE FROM audit_read_subjects", 2, "DELETED", "faltan 3"),
    ],
)
def test_verify_finds_the_side_table_tampered_with(
    hub: tuple[dict[str, str], AuditLog],
    audit_engine: Engine,
    statement: str,
    sequence: int,
    problem: str,
    says: str,
) -> None:
    env, _ = hub
    _run_sql(audit_engine, statement)
    document, stderr = failed(env)
    assert (document["first_bad_sequence"], document["problem"]) == (sequence, problem)
    assert says in str(document["reason"]) and says in stderr


def test_a_log_without_list_reads_verifies_as_before(
    db_url: str, audit_engine: Engine, tmp_path: Path
) -> None:
    data_dir = tmp_path / "var"
    log = AuditLog(audit_engine, load_or_create_hub_key(Settings(data_dir=data_dir)))
    log.append_many(accepted("m-1", 3))
    log.read_personal("operador:ana", "aclaración de pago folio 7", "p-ana")
    env = {"SISI_DATABASE_URL": db_url, "SISI_DATA_DIR": str(data_dir)}
    result = sisi(env, "verify", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["entries_checked"] == 4
    _run_sql(audit_engine, "INSERT INTO audit_read_subjects (sequence, person_id) VALUES (9, 'x')")
    result = sisi(env, "verify", "--json")  # a row for an entry that does not exist (yet)
    assert result.returncode == 1, result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert (document["first_bad_sequence"], document["problem"]) == (9, "EDITED")
    assert "que no existe (la bitácora llega a la 4)" in document["reason"]


def test_the_migration_applies_on_a_database_at_0008(db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    try:
        migrate(engine, "0008")
        assert "audit_read_subjects" not in inspect(engine).get_table_names()
        data_dir = tmp_path / "var"
        log = AuditLog(engine, load_or_create_hub_key(Settings(data_dir=data_dir)))
        log.read_personal(  # as 0008's hub recorded a list read: a count, no rows
            "operador:ana",
            "padrón de noviembre",
            "inscritos:S176:2026-11",
            {"command": "registry enrolled", "people": "2079"},
        )
        env = {"SISI_DATABASE_URL": db_url, "SISI_DATA_DIR": str(data_dir)}
        assert sisi(env, "verify").returncode == 0  # verify without the table
        migrate(engine)
        assert "audit_read_subjects" in inspect(engine).get_table_names()
        log.read_personal("operador:ana", "padrón de diciembre", "lista:2", people=["p-1"])
        assert _rows(engine) == [(2, "p-1")]
        result = sisi(env, "verify")
        assert result.returncode == 0, result.stderr
        assert "2 entradas verificadas" in result.stdout
    finally:
        engine.dispose()


def test_the_table_declared_in_the_store_is_what_the_migration_creates(
    audit_engine: Engine,
) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from hub.db import Base

    with audit_engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diffs if "audit_read_subjects" in repr(d)] == []
