"""``sisi agreements``: exit codes and output through the real ``sisi`` group (CliRunner)."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.agreements import load_private_key, public_key_from_str
from hub.agreements.keys import public_key_of
from hub.cli.main import cli
from hub.settings import REPO_ROOT

from .conftest import PAM, SAMPLE_IDS, Mutate, line_of


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_validate_default_directory(runner: CliRunner, samples: Path) -> None:
    # the default directory is SISI_AGREEMENTS_DIR (here a copy of the shipped samples: the live
    # agreements/ may hold the operator's own agreements, as the README tells them to add)
    result = runner.invoke(
        cli, ["agreements", "validate"], env={"SISI_AGREEMENTS_DIR": str(samples)}
    )
    assert result.exit_code == 0, result.output
    ok_lines = [line for line in result.stdout.splitlines() if line.startswith("OK ")]
    assert sorted(line.rsplit(" ", 1)[1] for line in ok_lines) == list(SAMPLE_IDS)


def test_validate_default_directory_holds_the_shipped_samples(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["agreements", "validate"])
    ok_ids = {
        line.rsplit(" ", 1)[1] for line in result.stdout.splitlines() if line.startswith("OK ")
    }
    assert set(SAMPLE_IDS) <= ok_ids, result.output


def test_validate_reports_every_error_with_file_and_line(runner: CliRunner, mutate: Mutate) -> None:
    path, text = mutate("status: vigente\n", "status: activo\ncolor: rojo\n")
    result = runner.invoke(cli, ["agreements", "validate", str(path), str(PAM)])
    assert result.exit_code == 2
    lines = result.stdout.splitlines()
    assert f"{path}:{line_of(text, 'status: activo')}: campo 'status': " in lines[0]
    assert lines[1].startswith(
        f"{path}:{line_of(text, 'color: rojo')}: campo 'color': campo desconocido"
    )
    assert lines[2] == f"OK {PAM} CONV-BIENESTAR-PAM-2026"
    assert "1 con errores" in result.stderr


def test_validate_duplicate_ids(runner: CliRunner, tmp_path: Path) -> None:
    shutil.copy(PAM, tmp_path / "a.yaml")
    shutil.copy(PAM, tmp_path / "b.yaml")
    result = runner.invoke(cli, ["agreements", "validate", str(tmp_path)])
    assert result.exit_code == 2
    assert "b.yaml: campo 'id': el id 'CONV-BIENESTAR-PAM-2026' ya lo usa" in result.stdout


def test_validate_nothing_to_validate(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["agreements", "validate", str(tmp_path)])
    assert result.exit_code == 2 and "no hay archivos" in result.stderr


def test_list_json(runner: CliRunner, samples: Path) -> None:
    result = runner.invoke(cli, ["agreements", "list", "--json", "--dir", str(samples)])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    assert {r["kind"] for r in rows} == {"padron", "encuesta"}
    assert {r["level"] for r in rows} == {"federal", "estatal", "municipal"}


def test_list_table_and_broken_directory(runner: CliRunner, mutate: Mutate, samples: Path) -> None:
    result = runner.invoke(cli, ["agreements", "list", "--dir", str(samples)])
    assert result.exit_code == 0 and "CONV-LEON-JEFAS-2026" in result.stdout
    path, _ = mutate("kind: padron", "kind: pension")
    broken = runner.invoke(cli, ["agreements", "list", "--dir", str(path.parent)])
    assert broken.exit_code == 2
    assert f"error: {path}:" in broken.stderr and "campo 'kind'" in broken.stderr


def test_show(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["agreements", "show", "CONV-EDOMEX-MCB-2026", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["layout"]["format"] == "xlsx"
    assert data["_changes_topic"] == "sisi.agreement.CONV-EDOMEX-MCB-2026.changesets"
    text = runner.invoke(cli, ["agreements", "show", "CONV-EDOMEX-MCB-2026"])
    assert text.exit_code == 0 and "Mujeres con Bienestar" in text.stdout


def test_show_unknown(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["agreements", "show", "CONV-NO-EXISTE-1"])
    assert result.exit_code == 2
    assert "convenio desconocido" in result.stderr and "CONV-BIENESTAR-PAM-2026" in result.stderr


def test_keygen_writes_outside_repo_with_0600(runner: CliRunner, tmp_path: Path) -> None:
    keys = tmp_path / "llaves"
    result = runner.invoke(
        cli, ["agreements", "keygen", "CONV-NUEVO-2027", "--new"], env={"SISI_KEYS_DIR": str(keys)}
    )
    assert result.exit_code == 0, result.output
    target = keys / "CONV-NUEVO-2027.key"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    line = next(x for x in result.stdout.splitlines() if x.startswith("public_key: "))
    public = line.removeprefix("public_key: ")
    public_key_from_str(public)
    assert public_key_of(load_private_key(target)) == public
    assert list(keys.iterdir()) == [target]  # no temporary files left


def test_keygen_refuses_overwrite_without_force(runner: CliRunner, tmp_path: Path) -> None:
    args = ["agreements", "keygen", "CONV-NUEVO-2027", "--new", "--out", str(tmp_path)]
    assert runner.invoke(cli, args).exit_code == 0
    before = (tmp_path / "CONV-NUEVO-2027.key").read_bytes()
    again = runner.invoke(cli, args)
    assert again.exit_code == 2 and "ya existe" in again.stderr
    assert (tmp_path / "CONV-NUEVO-2027.key").read_bytes() == before
    forced = runner.invoke(cli, [*args, "--force"])
    assert forced.exit_code == 0
    assert (tmp_path / "CONV-NUEVO-2027.key").read_bytes() != before


@pytest.mark.parametrize(
    "inside", [REPO_ROOT / "agreements", REPO_ROOT / "var" / "keys-test-never"]
)
def test_keygen_refuses_inside_repository(runner: CliRunner, inside: Path) -> None:
    existed = inside.exists()
    result = runner.invoke(
        cli, ["agreements", "keygen", "CONV-NUEVO-2027", "--new", "--out", str(inside)]
    )
    assert result.exit_code == 2
    assert "dentro del repositorio" in result.stderr
    assert not (inside / "CONV-NUEVO-2027.key").exists()
    assert inside.exists() == existed


def test_keygen_refuses_bad_id(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["agreements", "keygen", "../../etc/x", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "no es un id de convenio" in result.stderr
    assert list(tmp_path.iterdir()) == []
