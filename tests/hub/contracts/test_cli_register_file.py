"""``sisi schemas register`` with a schema file it cannot use says where schemas live."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.cli.main import cli
from hub.errors import ContractError
from hub.settings import REPO_ROOT

CHANGESET = "mx.gob.sisi.padron.ChangeSet"


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    """A catalog with one subject holding v1 and v2."""
    root = tmp_path / "contratos"
    shutil.copytree(REPO_ROOT / "avro_schemas" / CHANGESET, root / CHANGESET)
    for extra in (root / CHANGESET).glob("v*.avsc"):
        if extra.name not in ("v1.avsc", "v2.avsc"):
            extra.unlink()
    return root


def _register(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, catalog: Path, subject: str, file: str
) -> str:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        cli,
        ["schemas", "register", subject, file, "--dir", str(catalog)],
        env={"SISI_DATA_DIR": str(tmp_path / "datos"), "SISI_DATABASE_URL": None},
    )
    assert isinstance(result.exception, ContractError), result.output
    assert result.exception.exit_code == 2
    assert not (tmp_path / "datos").exists()  # refused before the database is opened
    return result.exception.render()


def test_a_missing_file_lists_the_subjects_versions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, catalog: Path
) -> None:
    text = _register(tmp_path, monkeypatch, catalog, CHANGESET, "nofile.avsc")
    assert text == (
        f"nofile.avsc: no existe el archivo de esquema. Qué hacer: revise la ruta (relativa a"
        f" {tmp_path}); los esquemas de {CHANGESET} están en {catalog / CHANGESET} (v1.avsc,"
        f" v2.avsc); una versión nueva se escribe allí como v3.avsc y se registra con esa ruta"
    )


def test_a_file_named_like_one_in_the_catalog_is_offered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, catalog: Path
) -> None:
    text = _register(tmp_path, monkeypatch, catalog, CHANGESET, str(tmp_path / "v2.avsc"))
    assert text.endswith(f"revise la ruta; ¿quiso decir {catalog / CHANGESET / 'v2.avsc'}?")


def test_a_new_subject_names_the_catalog_layout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, catalog: Path
) -> None:
    text = _register(tmp_path, monkeypatch, catalog, "mx.gob.sisi.prueba.Nuevo", "x.avsc")
    assert f"los esquemas del catálogo están en {catalog}/<subject>/v<N>.avsc" in text
    assert "'sisi schemas list' muestra los subjects" in text


def test_a_binary_file_is_not_a_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, catalog: Path
) -> None:
    (tmp_path / "v3.avsc").write_bytes(b"PK\x03\x04\xff\xfe")
    text = _register(tmp_path, monkeypatch, catalog, CHANGESET, "v3.avsc")
    assert "v3.avsc: el archivo de esquema no es texto UTF-8 (byte 5)" in text
    assert "un esquema Avro es un archivo JSON (.avsc) en UTF-8" in text
