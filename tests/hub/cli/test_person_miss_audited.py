"""``sisi registry person`` says a look-up is on the record whether or not the CURP is found."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import text

from hub.cli.main import cli
from hub.db import make_engine, migrate
from hub.errors import SisiError
from hub.validation.curp import check_digit

UNKNOWN = "GOMC800101HDFRRR0" + check_digit("GOMC800101HDFRRR0")


def test_a_miss_says_it_was_recorded_and_where(tmp_path: Path) -> None:
    data = tmp_path / "datos"
    engine = make_engine(f"sqlite:///{data / 'registry.sqlite3'}")
    migrate(engine)
    result = CliRunner().invoke(
        cli,
        ["registry", "person", UNKNOWN, "--purpose", "solicitud ARCO 7"],
        env={"SISI_DATABASE_URL": None, "SISI_DATA_DIR": str(data)},  # type: ignore[dict-item]
    )
    with engine.connect() as conn:
        sequence = conn.execute(
            text("select sequence from audit_log where action = 'PERSONAL_DATA_READ'")
        ).scalar_one()
    engine.dispose()
    assert isinstance(result.exception, SisiError) and result.exception.exit_code == 2
    assert "no hay en el registro una persona" in result.exception.render()
    assert result.stdout == ""
    assert result.stderr == f"consulta registrada en la bitácora (entrada {sequence}).\n"
