"""Fixtures for agreement tests: the shipped sample agreements and a helper that writes mutated
copies.

The live ``agreements/`` directory is the operator's: the README tells them to add their own
agreements there, so tests never load that directory as a whole. They read the shipped samples by
file name (:data:`SAMPLE_FILES`) or load a copy of just those files (:func:`copy_samples`, the
``samples`` fixture)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from hub.settings import REPO_ROOT

SAMPLES = REPO_ROOT / "agreements"
PAM = SAMPLES / "bienestar-pam.yaml"
#: The sample agreements shipped with the repository, by file name and id.
SAMPLE_FILES = {
    "bienestar-cuis.yaml": "CONV-BIENESTAR-CUIS-2026",
    "bienestar-pam.yaml": "CONV-BIENESTAR-PAM-2026",
    "cnbbbj-becas-ems.yaml": "CONV-CNBBBJ-BUEMS-2026",
    "edomex-mujeres-bienestar.yaml": "CONV-EDOMEX-MCB-2026",
    "leon-jefas-familia.yaml": "CONV-LEON-JEFAS-2026",
}
SAMPLE_IDS = tuple(sorted(SAMPLE_FILES.values()))

Mutate = Callable[..., tuple[Path, str]]


def copy_samples(target: Path) -> Path:
    """Copy the shipped sample agreements (only those) into ``target``; returns ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    for name in SAMPLE_FILES:
        shutil.copy(SAMPLES / name, target / name)
    return target


@pytest.fixture(scope="session")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding a copy of the shipped sample agreements and nothing else."""
    return copy_samples(tmp_path_factory.mktemp("convenios-de-muestra"))


@pytest.fixture
def mutate(tmp_path: Path) -> Mutate:
    """Copy a sample with ``old`` replaced by ``new``; returns (path, new text)."""

    def _mutate(
        old: str, new: str, *, sample: Path = PAM, name: str = "convenio.yaml"
    ) -> tuple[Path, str]:
        text = sample.read_text(encoding="utf-8")
        assert text.count(old) == 1, f"{old!r} must occur once in {sample.name}"
        changed = text.replace(old, new)
        path = tmp_path / name
        path.write_text(changed, encoding="utf-8")
        return path, changed

    return _mutate


def line_of(text: str, fragment: str) -> int:
    """1-based line where ``fragment`` starts in ``text``."""
    index = text.index(fragment)
    return text.count("\n", 0, index) + 1
