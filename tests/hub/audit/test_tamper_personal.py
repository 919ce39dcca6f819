"""Invariant 5 and the log itself: a personal-data read is recorded (who, when, for what) without
the person's data in clear; the log cannot be erased, so a CURP typed into the purpose must be
refused, not kept forever (SQLite and PostgreSQL; the CLI as an operator runs it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from hub.audit import AuditLog, load_or_create_hub_key
from hub.audit.store import AuditLogDamagedError, PersonalDataError
from hub.errors import SisiError
from hub.settings import Settings
from hub.validation.curp import check_digit
from tests.hub.audit.conftest import sisi

CURP = "GOMC800101HDFRRR0" + check_digit("GOMC800101HDFRRR0")


def _reads(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT purpose, details FROM audit_log WHERE action = 'PERSONAL_DATA_READ'")
        ).all()
    return [(row.purpose, row.details) for row in rows]


@pytest.mark.parametrize(
    ("purpose", "details", "field"),
    [
        (f"aclaración ARCO de {CURP}", {}, "purpose"),
        (f"aclaración ARCO de {CURP.lower()}.", {}, "purpose"),
        ("aclaración ARCO", {"nota": f"curp={CURP}"}, "nota"),
    ],
)
def test_a_curp_anywhere_in_a_read_is_refused_and_nothing_is_recorded(
    audit_engine: Engine, tmp_path: Path, purpose: str, details: dict[str, str], field: str
) -> None:
    log = AuditLog(audit_engine, load_or_create_hub_key(Settings(data_dir=tmp_path / "var")))
    with pytest.raises(PersonalDataError) as refused:
        log.read_personal("operador:ana", purpose, "persona-17", details)
    assert isinstance(refused.value, SisiError) and refused.value.field == field
    assert CURP not in refused.value.render() and CURP[:4] in refused.value.render()
    assert _reads(audit_engine) == [] and log.head().is_empty
    entry = log.read_personal("operador:ana", "aclaración ARCO folio 123", "persona-17")
    assert entry.sequence == 1  # the same read without the CURP is recorded


SISI = str(Path(sys.executable).parent / "sisi")


def test_registry_person_with_a_curp_in_the_purpose_is_refused_before_anything_is_shown(
    db_url: str, audit_engine: Engine, tmp_path: Path
) -> None:
    env = {**os.environ, "SISI_DATABASE_URL": db_url, "SISI_DATA_DIR": str(tmp_path / "var")}
    result = subprocess.run(
        [SISI, "registry", "person", CURP, "--purpose", f"solicitud sobre {CURP}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "campo 'purpose'" in result.stderr and "contiene una CURP" in result.stderr
    assert result.stdout == ""
    assert _reads(audit_engine) == []
    plain = {"SISI_DATABASE_URL": db_url, "SISI_DATA_DIR": str(tmp_path / "var")}
    assert sisi(plain, "verify").returncode == 0


def test_a_read_is_refused_with_a_clear_error_when_the_log_cannot_record_it(
    db_url: str, audit_engine: Engine, tmp_path: Path
) -> None:
    """A DBA deleted the stored head: the read must not happen unaudited, and the operator gets
    a Spanish error instead of a traceback."""
    log = AuditLog(audit_engine, load_or_create_hub_key(Settings(data_dir=tmp_path / "var")))
    log.read_personal("operador:ana", "aclaración ARCO folio 1", "persona-1")
    with audit_engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_chain_head"))
    with pytest.raises(AuditLogDamagedError):
        log.read_personal("operador:ana", "aclaración ARCO folio 2", "persona-2")
    env = {**os.environ, "SISI_DATABASE_URL": db_url, "SISI_DATA_DIR": str(tmp_path / "var")}
    result = subprocess.run(
        [SISI, "registry", "person", CURP, "--purpose", "aclaración ARCO folio 3"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert "no tiene su cabeza" in result.stderr
    assert len(_reads(audit_engine)) == 1
