"""``sisi registry paid`` refuses a territory the INEGI catalog does not have (exit 2, nothing
read, nothing audited) instead of answering "0 pagos" about it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.engine import Engine

from hub.cli.main import cli
from hub.errors import SisiError
from hub.registry import ProgramEntry, seed_programs
from hub.settings import Settings
from tests.hub.registry.conftest import PROGRAM


@pytest.fixture
def env(registry: Engine, tmp_path: Path) -> dict[str, str]:
    if Settings().reference_data is None:
        pytest.skip("sin datos de referencia de INEGI")
    seed_programs(registry, [ProgramEntry(PROGRAM, "Pensión para el Bienestar", "S176")])
    return {
        "SISI_DATABASE_URL": registry.url.render_as_string(hide_password=False),
        "SISI_DATA_DIR": str(tmp_path / "datos"),
    }


def _paid(env: dict[str, str], cvegeo: str) -> tuple[int, str]:
    args = ["registry", "paid", PROGRAM, "--cvegeo", cvegeo, "--year", "2026"]
    result = CliRunner().invoke(cli, [*args, "--purpose", "auditoría"], env=env)
    if isinstance(result.exception, SisiError):
        return result.exception.exit_code, result.exception.render()
    return result.exit_code, result.output


def _reads(registry: Engine) -> int:
    with registry.connect() as conn:
        query = "select count(*) from audit_log where action = 'PERSONAL_DATA_READ'"
        return int(conn.execute(text(query)).scalar_one())


@pytest.mark.parametrize(
    ("cvegeo", "expected"),
    [
        ("99", "campo '--cvegeo': la entidad 99 de la CVEGEO '99' no existe en el catálogo"),
        ("33", "la entidad 33 de la CVEGEO '33' no existe en el catálogo de INEGI"),
        ("07999", "el municipio 07999 de la CVEGEO '07999' no existe en el catálogo de INEGI"),
        ("079990001", "(Chiapas no tiene municipio 999)"),
    ],
)
def test_a_territory_inegi_does_not_have_is_refused(
    env: dict[str, str], registry: Engine, cvegeo: str, expected: str
) -> None:
    code, said = _paid(env, cvegeo)
    assert code == 2
    assert expected in said and "Qué hacer:" in said
    assert _reads(registry) == 0  # refused before anything was read


def test_a_known_territory_is_asked(env: dict[str, str], registry: Engine) -> None:
    for cvegeo in ("07", "07089", "070899999"):  # a locality the partial catalog may lack
        code, said = _paid(env, cvegeo)
        assert code == 0, said
        assert f", {cvegeo}, 2026: 0 pagos" in said
    assert _reads(registry) == 3
