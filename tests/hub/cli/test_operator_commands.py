"""Read-only operator commands: where the registry is, CURP checks, labels of the totals."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.agreements.loader import AgreementSet
from hub.cli.compliance import _render
from hub.cli.main import cli
from hub.compliance.store import AgreementCompliance
from hub.db import make_engine, migrate
from hub.errors import ConfigurationError, SisiError
from hub.settings import REPO_ROOT
from hub.validation.curp import check_digit

WELL_FORMED = "GOMC800101HDFRRR0" + check_digit("GOMC800101HDFRRR0")


@pytest.fixture
def registry_dir(tmp_path: Path) -> Path:
    """A data directory whose registry is migrated (what ``sisi up`` leaves)."""
    data = tmp_path / "datos"
    engine = make_engine(f"sqlite:///{data / 'registry.sqlite3'}")
    migrate(engine)
    engine.dispose()
    return data


def _run(env: dict[str, str], *args: str) -> tuple[int, str, SisiError | None]:
    result = CliRunner().invoke(cli, list(args), env={"SISI_DATABASE_URL": None, **env})
    if isinstance(result.exception, SisiError):  # ``sisi`` renders these on stderr
        return result.exception.exit_code, result.exception.render(), result.exception
    return result.exit_code, result.output, None


@pytest.mark.parametrize(
    "command", [("registry", "stats"), ("compliance",), ("quarantine", "list")]
)
def test_outside_the_checkout_nothing_is_created_and_the_path_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: tuple[str, ...]
) -> None:
    elsewhere = tmp_path / "x"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, text, error = _run({"SISI_DATA_DIR": None}, *command)  # type: ignore[dict-item]
    assert isinstance(error, ConfigurationError) and code == 2
    expected = elsewhere / "var" / "registry.sqlite3"
    assert str(expected) in text
    assert "SISI_DATA_DIR" in text and "SISI_DATABASE_URL" in text and "sisi up" in text
    assert list(elsewhere.iterdir()) == []  # no ./var, no empty database


def test_missing_tables_name_the_database(tmp_path: Path) -> None:
    empty = tmp_path / "vacia.sqlite3"
    make_engine(f"sqlite:///{empty}").connect().close()  # exists, never migrated
    code, text, error = _run({"SISI_DATABASE_URL": f"sqlite:///{empty}"}, "registry", "stats")
    assert isinstance(error, ConfigurationError) and code == 2
    assert str(empty) in text and "faltan tablas" in text and "people" in text


def test_registry_stats_says_which_deliveries_it_counts(registry_dir: Path) -> None:
    code, out, _ = _run({"SISI_DATA_DIR": str(registry_dir)}, "registry", "stats")
    assert code == 0, out
    assert "entregas con elementos aplicados: 0" in out
    assert "\nentregas:" not in out


@pytest.mark.parametrize(
    ("curp", "problem"),
    [
        ("GOMC800101", "18 caracteres"),
        ("GOMC8001O1HDFRRR01", "estructura oficial"),
        (WELL_FORMED[:17] + str((int(WELL_FORMED[17]) + 1) % 10), "dígito verificador"),
        ("GOMC801301HDFRRR0" + check_digit("GOMC801301HDFRRR0"), "fecha de nacimiento"),
    ],
)
def test_a_malformed_curp_is_refused_before_any_look_up(
    tmp_path: Path, curp: str, problem: str
) -> None:
    # no registry at all: a malformed CURP is refused before the database is even opened
    env = {"SISI_DATA_DIR": str(tmp_path / "no-existe")}
    code, text, error = _run(env, "registry", "person", curp, "--purpose", "prueba")
    assert error is not None and not isinstance(error, ConfigurationError)
    assert code == 2
    assert f"la CURP '{curp}' no es válida" in text and problem in text
    assert "no hay en el registro" not in text


def test_a_well_formed_curp_not_in_the_registry(registry_dir: Path) -> None:
    written = f" {WELL_FORMED[:9].lower()}-{WELL_FORMED[9:]} "  # as an operator may paste it
    env = {"SISI_DATA_DIR": str(registry_dir)}
    code, text, error = _run(env, "registry", "person", written, "--purpose", "prueba")
    assert error is not None and code == 2
    assert f"no hay en el registro una persona con la CURP {WELL_FORMED}" in text
    # the miss is an audited look-up too, without the CURP in the log
    engine = make_engine(f"sqlite:///{registry_dir / 'registry.sqlite3'}")
    with engine.connect() as conn:
        from sqlalchemy import text as sql

        rows = conn.execute(
            sql("select purpose, details from audit_log where action = 'PERSONAL_DATA_READ'")
        ).all()
    engine.dispose()
    assert len(rows) == 1 and rows[0].purpose == "prueba"
    assert '"subject":"sin-coincidencia"' in rows[0].details and "curp_hmac" in rows[0].details
    assert WELL_FORMED not in rows[0].details
    _run(env, "registry", "person", WELL_FORMED, "--purpose", "otra")
    with engine.connect() as conn:
        again = conn.execute(
            sql("select details from audit_log where action = 'PERSONAL_DATA_READ'")
        ).all()
    assert (
        again[0].details.split('"curp_hmac":')[1][:20]
        == again[1].details.split('"curp_hmac":')[1][:20]
    )  # the same person gives the same digest


def test_compliance_period_is_the_processing_month(registry_dir: Path) -> None:
    env = {"SISI_DATA_DIR": str(registry_dir)}
    code, out, _ = _run(env, "compliance", "--period", "2026-02")
    # no data that month: every loaded padrón agreement is still listed, with zeros (the hub
    # does not read encuesta topics yet: those are listed without figures)
    assert code == 0 and "CONV-BIENESTAR-PAM-2026\n  entregas recibidas 0 · mensajes 0" in out
    padron = [a for a in AgreementSet(REPO_ROOT / "agreements") if a.kind == "padron"]
    assert out.count("sin entregas") == len(padron)
    code, out, _ = _run(env, "compliance", "--help")
    assert "mes en que el hub procesó los conjuntos, AAAA-MM" in " ".join(out.split())


def test_compliance_counts_deliveries_received() -> None:
    row = AgreementCompliance("CONV-BIENESTAR-PAM-2026", deliveries=3)
    lines = _render(row, AgreementSet(REPO_ROOT / "agreements"), dt.datetime.now(dt.UTC))
    assert lines[1].startswith("  entregas recibidas 3 · mensajes 0")


def test_the_audited_reader_is_the_real_user_not_what_logname_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os
    import pwd

    from hub.cli.registry import operator

    monkeypatch.setenv("LOGNAME", "titular.del.oic")
    monkeypatch.setenv("USER", "titular.del.oic")
    assert operator() == pwd.getpwuid(os.getuid()).pw_name != "titular.del.oic"
