"""Fixtures for agreement tests: the sample directory and a helper that writes mutated copies."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hub.settings import REPO_ROOT

SAMPLES = REPO_ROOT / "agreements"
PAM = SAMPLES / "bienestar-pam.yaml"

Mutate = Callable[..., tuple[Path, str]]


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
