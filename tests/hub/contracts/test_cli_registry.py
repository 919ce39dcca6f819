"""``sisi schemas list`` shows what the registry holds; ``register`` refuses a mistyped subject."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from hub.cli.main import cli
from hub.errors import SisiError
from hub.schema_registry.server import open_store
from hub.settings import REPO_ROOT

CHANGESET = "mx.gob.sisi.padron.ChangeSet"
V1 = REPO_ROOT / "avro_schemas" / CHANGESET / "v1.avsc"


def _run(env: dict[str, str | None], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env=env)
    if isinstance(result.exception, SisiError):  # ``sisi`` renders these on stderr
        return result.exception.exit_code, result.exception.render()
    return result.exit_code, result.output


def test_list_shows_the_registry_and_a_mistyped_subject_is_not_created(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    env: dict[str, str | None] = {"SISI_DATABASE_URL": url, "SISI_DATA_DIR": str(tmp_path)}
    store, _ = open_store(url)  # migrated and seeded from avro_schemas/, as 'sisi up' does
    store.engine.dispose()

    code, out = _run(env, "schemas", "list", "--json")
    assert code == 0, out
    rows = {row["subject"]: row for row in json.loads(out)}
    assert [v["version"] for v in rows[CHANGESET]["versions"]] == [1, 2]
    assert all(isinstance(v["id"], int) for v in rows[CHANGESET]["versions"])
    assert rows[CHANGESET]["compatibility"] == "BACKWARD_TRANSITIVE"
    assert all(row["in_catalog"] for row in rows.values())

    # a typo: refused, with the closest known name, and nothing is created
    typo = "mx.gob.sisi.padron.ChangeSt"
    code, out = _run(env, "schemas", "register", typo, str(V1))
    assert code == 2, out
    assert f"el subject '{typo}' no está en el catálogo ni en el registro" in out
    assert f"¿quiso decir '{CHANGESET}'?" in out and "--nuevo-sujeto" in out
    code, out = _run(env, "schemas", "list", "--json")
    assert typo not in {row["subject"] for row in json.loads(out)}

    # on purpose: created, and listed as the registry's own
    new = "mx.gob.sisi.prueba.Nuevo"
    code, out = _run(env, "schemas", "register", new, str(V1), "--nuevo-sujeto")
    assert code == 0 and f"{new} v1 registrado con id" in out, out
    code, out = _run(env, "schemas", "register", new, str(V1))  # now known: no flag needed
    assert code == 0, out
    code, out = _run(env, "schemas", "list")
    assert code == 0, out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("mx.")}
    assert lines[new].endswith("[sólo en el registro]") and "v1 (id " in lines[new]
    assert lines[CHANGESET].endswith("[catálogo]") and "v2 (id " in lines[CHANGESET]

    # the repository's files, as before, with --catalogo
    code, out = _run(env, "schemas", "list", "--catalogo", "--json")
    assert code == 0 and new not in out and CHANGESET in out


def test_list_on_a_database_without_a_registry_says_where_it_looked(tmp_path: Path) -> None:
    env: dict[str, str | None] = {
        "SISI_DATA_DIR": str(tmp_path / "vacía"),
        "SISI_DATABASE_URL": None,
    }
    code, out = _run(env, "schemas", "list")
    assert code == 2
    assert "no existe la base de datos del registro" in out and "sisi up" in out
