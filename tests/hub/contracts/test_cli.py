"""``sisi schemas``: check (repo and a broken copy), list, register."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.cli.main import cli
from hub.settings import REPO_ROOT


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_check_passes_on_the_repository() -> None:
    code, output = run("schemas", "check")
    assert code == 0, output
    assert "ok    mx.gob.sisi.padron.ChangeSet (BACKWARD_TRANSITIVE, 2 versiones)" in output
    assert "9 subjects compatibles" in output


@pytest.fixture
def broken_copy(tmp_path: Path) -> Path:
    target = tmp_path / "avro_schemas"
    shutil.copytree(REPO_ROOT / "avro_schemas", target)
    folder = target / "mx.gob.sisi.padron.ChangeSet"
    v3 = json.loads((folder / "v2.avsc").read_text(encoding="utf-8"))
    v3["fields"].append({"name": "lote", "type": "string", "doc": "Lote (sin default)."})
    (folder / "v3.avsc").write_text(json.dumps(v3, ensure_ascii=False), encoding="utf-8")
    return target


def test_check_fails_with_reasons_on_a_bad_v3(broken_copy: Path) -> None:
    code, output = run("schemas", "check", "--dir", str(broken_copy))
    assert code == 2
    assert "FALLA mx.gob.sisi.padron.ChangeSet (BACKWARD_TRANSITIVE, 3 versiones)" in output
    assert "v3: un lector con la versión nueva no puede leer datos escritos con la v1" in output
    assert "v3: un lector con la versión nueva no puede leer datos escritos con la v2" in output
    assert "(en lote)" in output
    assert "ok    mx.gob.sisi.hub.Receipt" in output


def test_check_reports_a_malformed_file(tmp_path: Path) -> None:
    target = tmp_path / "avro_schemas"
    shutil.copytree(REPO_ROOT / "avro_schemas", target)
    (target / "mx.gob.sisi.hub.Receipt" / "v1.avsc").write_text('{\n  "type": \n', "utf-8")
    from hub.cli.main import main

    with pytest.raises(SystemExit) as exited:
        main(["schemas", "check", "--dir", str(target)])
    assert exited.value.code == 2


def test_list_json() -> None:
    code, output = run("schemas", "list", "--catalogo", "--json")
    assert code == 0
    rows = json.loads(output)
    by_subject = {row["subject"]: row for row in rows}
    assert by_subject["mx.gob.sisi.padron.ChangeSet"]["versions"] == [1, 2]
    assert by_subject["mx.gob.sisi.publico.CoverageCell"]["compatibility"] == "FULL_TRANSITIVE"


def test_register_enforces_the_mode(tmp_path: Path, broken_copy: Path) -> None:
    env = {"SISI_DATABASE_URL": f"sqlite:///{tmp_path / 'r.sqlite3'}"}
    folder = REPO_ROOT / "avro_schemas" / "mx.gob.sisi.padron.ChangeSet"
    subject = "mx.gob.sisi.padron.ChangeSet"
    code, output = run("schemas", "register", subject, str(folder / "v1.avsc"), env=env)
    assert (code, output.strip()) == (0, f"{subject} v1 registrado con id 1")
    code, output = run("schemas", "register", subject, str(folder / "v2.avsc"), env=env)
    assert code == 0 and "v2" in output
    bad = broken_copy / "mx.gob.sisi.padron.ChangeSet" / "v3.avsc"
    result = CliRunner().invoke(cli, ["schemas", "register", subject, str(bad)], env=env)
    assert result.exit_code != 0
    assert "no es compatible" in str(result.exception)
