"""``sisi audit verify`` and ``sisi audit head`` run as an operator would, on both databases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from hub.agreements.keys import public_key_of
from hub.audit import AuditLog, load_or_create_hub_key
from hub.settings import Settings
from tests.hub.audit.conftest import accepted, sisi


@pytest.fixture
def hub(db_url: str, audit_engine: Engine, tmp_path: Path) -> tuple[dict[str, str], AuditLog]:
    data_dir = tmp_path / "var"
    key = load_or_create_hub_key(Settings(data_dir=data_dir))
    log = AuditLog(audit_engine, key)
    log.append_many(accepted("m-1", 6))
    return {"SISI_DATABASE_URL": db_url, "SISI_DATA_DIR": str(data_dir)}, log


def test_verify_ok(hub: tuple[dict[str, str], AuditLog]) -> None:
    env, _ = hub
    result = sisi(env, "verify")
    assert result.returncode == 0, result.stderr
    assert "bitácora íntegra: 6 entradas verificadas" in result.stdout
    document = json.loads(sisi(env, "verify", "--json").stdout)
    assert document["ok"] is True and document["last_sequence"] == 6


def test_verify_reports_tampering_with_exit_1(
    hub: tuple[dict[str, str], AuditLog], audit_engine: Engine
) -> None:
    env, _ = hub
    with audit_engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'alguien' WHERE sequence = 3"))
    result = sisi(env, "verify")
    assert result.returncode == 1
    assert "bitácora alterada en la entrada 3" in result.stderr
    assert "editada" in result.stderr
    document = json.loads(sisi(env, "verify", "--json").stdout)
    assert (document["ok"], document["first_bad_sequence"], document["problem"]) == (
        False,
        3,
        "EDITED",
    )


def test_verify_reports_an_edited_idempotency_key(
    hub: tuple[dict[str, str], AuditLog], audit_engine: Engine
) -> None:
    """The key is not hashed (it decides which events are skipped as logged), but it is a
    function of the entry: a pre-set key would make a later event vanish silently."""
    env, _ = hub
    with audit_engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_log SET idempotency_key = 'otra|cosa' WHERE sequence = 4")
        )
    result = sisi(env, "verify", "--json")
    document = json.loads(result.stdout)
    assert result.returncode == 1
    assert (document["first_bad_sequence"], document["problem"]) == (4, "EDITED")
    assert "clave de idempotencia" in document["reason"]


def test_verify_with_another_published_key_fails(
    hub: tuple[dict[str, str], AuditLog], tmp_path: Path
) -> None:
    env, _ = hub
    other = public_key_of(load_or_create_hub_key(Settings(data_dir=tmp_path / "otro")))
    result = sisi(env, "verify", "--public-key", other)
    assert result.returncode == 1
    assert "falsificada" in result.stderr


def test_head(hub: tuple[dict[str, str], AuditLog]) -> None:
    env, log = hub
    head = log.head()
    document = json.loads(sisi(env, "head", "--json").stdout)
    assert document["sequence"] == 6
    assert document["entry_hash"] == head.entry_hash.hex()
    assert document["key_id"] and document["recorded_at"].endswith("Z")
    plain = sisi(env, "head")
    assert plain.returncode == 0 and "secuencia:  6" in plain.stdout


def test_unmigrated_database_is_a_clear_error(tmp_path: Path) -> None:
    env = {
        "SISI_DATABASE_URL": f"sqlite:///{tmp_path / 'vacia.sqlite3'}",
        "SISI_DATA_DIR": str(tmp_path / "var"),
    }
    load_or_create_hub_key(Settings(data_dir=tmp_path / "var"))
    result = sisi(env, "verify")
    assert result.returncode == 2
    assert "no tiene la bitácora" in result.stderr and "Qué hacer" in result.stderr


def test_missing_hub_public_key_is_a_clear_error(tmp_path: Path) -> None:
    env = {
        "SISI_DATABASE_URL": f"sqlite:///{tmp_path / 'r.sqlite3'}",
        "SISI_DATA_DIR": str(tmp_path / "var"),
    }
    result = sisi(env, "verify")
    assert result.returncode == 2
    assert "llave pública del hub" in result.stderr


def test_list_names_the_details_in_spanish(hub: tuple[dict[str, str], AuditLog]) -> None:
    env, log = hub
    log.read_personal("operador:ana", "aclaración de pago", "persona-7", {"command": "prueba"})
    result = sisi(env, "list")
    assert result.returncode == 0, result.stderr
    assert "comando=prueba" in result.stdout and "sujeto=persona-7" in result.stdout
    assert "command=" not in result.stdout and "subject=" not in result.stdout
