"""``sisi agreements keygen`` makes a key only for an agreement it can find, unless --new."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.cli.main import cli

from .conftest import PAM, SAMPLES


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_an_unknown_agreement_gets_no_key(runner: CliRunner, tmp_path: Path) -> None:
    keys = tmp_path / "llaves"
    result = runner.invoke(cli, ["agreements", "keygen", "CONV-NOPE", "--out", str(keys)])
    assert result.exit_code == 2
    assert f"no hay un convenio 'CONV-NOPE' en {SAMPLES.resolve()}" in result.stderr
    assert "CONV-BIENESTAR-PAM-2026" in result.stderr  # the ids it knows
    assert "no se generó ninguna clave" in result.stderr
    assert "sisi agreements keygen CONV-NOPE --new" in result.stderr
    assert "public_key" not in result.stdout
    assert not keys.exists()


def test_a_mistyped_id_is_told_the_closest_ones(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        cli, ["agreements", "keygen", "CONV-BIENESTAR-PAM-2062", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "¿quiso decir CONV-BIENESTAR-PAM-2026" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_agreements_folder_can_be_given(runner: CliRunner, tmp_path: Path) -> None:
    folder = tmp_path / "convenios"
    folder.mkdir()
    keys = tmp_path / "llaves"
    args = ["agreements", "keygen", "CONV-BIENESTAR-PAM-2026", "--out", str(keys)]
    empty = runner.invoke(cli, [*args, "--dir", str(folder)])
    assert empty.exit_code == 2 and "la carpeta no tiene convenios" in empty.stderr
    missing = runner.invoke(cli, [*args, "--dir", str(tmp_path / "no-existe")])
    assert missing.exit_code == 2 and "no existe la carpeta de convenios" in missing.stderr
    assert not keys.exists()
    shutil.copy(PAM, folder / PAM.name)
    found = runner.invoke(cli, [*args, "--dir", str(folder)])
    assert found.exit_code == 0, found.output
    assert (keys / "CONV-BIENESTAR-PAM-2026.key").exists()
    assert found.stdout.startswith("public_key: ed25519:")


def test_a_new_agreement_gets_its_key_with_new(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        cli, ["agreements", "keygen", "CONV-NOPE", "--new", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "CONV-NOPE.key").exists()
