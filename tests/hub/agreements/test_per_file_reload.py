"""A directory of agreements reloads file by file: one broken file never freezes the others."""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.agreements.loader import AgreementFileError, AgreementSet
from hub.cli.main import cli
from tests.hub.agreements.conftest import SAMPLES, copy_samples

PAM = "CONV-BIENESTAR-PAM-2026"
LEON = "CONV-LEON-JEFAS-2026"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return copy_samples(tmp_path / "convenios")


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_broken_file_keeps_its_version_and_the_others_apply(folder: Path) -> None:
    agreements = AgreementSet(folder)
    leon_before = agreements.loaded()[[a.agreement.id for a in agreements.loaded()].index(LEON)]
    leon = folder / "leon-jefas-familia.yaml"
    leon.write_text(leon.read_text(encoding="utf-8") + "\nnot: [closed\n", encoding="utf-8")
    _edit(folder / "bienestar-pam.yaml", "status: vigente", "status: suspendido")

    result = agreements.reload()

    assert result.changed  # PAM's suspension applies although LEON is broken
    assert agreements.get(PAM).status == "suspendido"
    (broken,) = result.broken
    assert broken.path == leon and broken.previous == leon_before
    assert broken.error.issues[0].line is not None  # file and line named
    assert agreements.get(LEON) == leon_before.agreement  # its last good version stays
    rendered = broken.render()
    assert (
        "leon-jefas-familia.yaml:" in rendered and "sigue en vigor su versión anterior" in rendered
    )

    again = agreements.reload()  # the same broken bytes: not reported again, nothing changed
    assert not again.changed and again.broken == () and again.fixed == ()
    assert agreements.broken == (broken,)

    _edit(folder / "bienestar-pam.yaml", "status: suspendido", "status: vigente")
    assert agreements.reload().changed and agreements.get(PAM).status == "vigente"
    shutil.copy(SAMPLES / "leon-jefas-familia.yaml", leon)
    fixed = agreements.reload()
    assert fixed.fixed == (leon,) and not fixed.changed  # the same bytes as before: no change
    assert agreements.broken == ()


def test_a_file_broken_at_the_first_load_stays_out_and_the_set_loads(folder: Path) -> None:
    (folder / "leon-jefas-familia.yaml").write_text("id: [sin cerrar\n", encoding="utf-8")
    agreements = AgreementSet(folder)
    assert LEON not in agreements and PAM in agreements
    (broken,) = agreements.broken
    assert broken.previous is None and "no está en vigor" in broken.render()
    with pytest.raises(Exception, match=r"leon-jefas-familia\.yaml"):
        agreements.get(LEON)  # the unknown id's hint names the broken file

    shutil.copy(SAMPLES / "leon-jefas-familia.yaml", folder / "leon-jefas-familia.yaml")
    result = agreements.reload()
    assert result.changed and LEON in agreements


def test_no_agreement_loading_at_all_refuses_the_set(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("id: [sin cerrar\n", encoding="utf-8")
    with pytest.raises(AgreementFileError, match=r"a\.yaml"):
        AgreementSet(tmp_path)


def test_a_same_size_edit_with_its_mtime_kept_is_reloaded(folder: Path) -> None:
    """cp -p, tar: same size, same mtime, other bytes (a rotated key of the same length)."""
    agreements = AgreementSet(folder)
    path = folder / "bienestar-pam.yaml"
    stat = path.stat()
    key = agreements.get(PAM).public_key
    other = "ed25519:" + "A" * (len(key) - len("ed25519:") - 1) + "="
    _edit(path, key, other)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size and path.stat().st_mtime_ns == stat.st_mtime_ns

    assert agreements.reload().changed
    assert agreements.get(PAM).public_key == other


def test_the_digest_is_of_the_bytes_parsed(folder: Path) -> None:
    agreements = AgreementSet(folder)
    path = folder / "bienestar-pam.yaml"
    _edit(path, "status: vigente", "status: suspendido")
    suspended = hashlib.sha256(path.read_bytes()).hexdigest()
    agreements.reload()
    shutil.copy(SAMPLES / "bienestar-pam.yaml", path)  # reverted before anyone records it
    (pam,) = [loaded for loaded in agreements.loaded() if loaded.agreement.id == PAM]
    assert pam.agreement.status == "suspendido" and pam.sha256 == suspended


def test_a_duplicate_id_does_not_take_over_the_file_that_holds_it(folder: Path) -> None:
    agreements = AgreementSet(folder)
    shutil.copy(folder / "bienestar-pam.yaml", folder / "aaa-copia.yaml")  # sorts first
    result = agreements.reload()
    assert not result.changed
    assert agreements.path_of(PAM).name == "bienestar-pam.yaml"
    (broken,) = result.broken
    assert broken.path.name == "aaa-copia.yaml" and "ya lo usa" in broken.error.render()


def test_removing_a_file_removes_its_agreement(folder: Path) -> None:
    agreements = AgreementSet(folder)
    (folder / "leon-jefas-familia.yaml").unlink()
    assert agreements.reload().changed and LEON not in agreements


def test_a_look_at_an_unchanged_directory_is_cheap(folder: Path) -> None:
    agreements = AgreementSet(folder)
    start = time.perf_counter()
    for _ in range(100):
        assert not agreements.reload().changed
    per_look = (time.perf_counter() - start) / 100
    assert per_look < 0.01, f"{per_look * 1000:.2f} ms per look"  # measured ~0.1 ms (6 files)


def test_list_names_the_broken_file_and_lists_the_others(folder: Path) -> None:
    (folder / "leon-jefas-familia.yaml").write_text("id: [sin cerrar\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["agreements", "list", "--dir", str(folder)])
    assert result.exit_code == 2
    assert PAM in result.stdout and LEON not in result.stdout
    assert "leon-jefas-familia.yaml:2: YAML mal formado" in result.stderr
    assert "no se cargan: leon-jefas-familia.yaml" in result.stderr
