"""The hub's signing key: made once with 0600, reused, its public half beside it."""

from __future__ import annotations

import multiprocessing
import stat
from pathlib import Path

import pytest

from hub.agreements.keys import public_key_of, public_key_to_str
from hub.audit import (
    hub_key_path,
    hub_public_key_path,
    load_hub_public_key,
    load_or_create_hub_key,
)
from hub.errors import ConfigurationError
from hub.settings import Settings


def _settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "var")


def test_created_once_with_private_permissions(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    key = load_or_create_hub_key(settings)
    path = hub_key_path(settings)
    assert path == tmp_path / "var" / "keys" / "hub.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert hub_public_key_path(settings).read_text().strip() == public_key_of(key)
    again = load_or_create_hub_key(settings)
    assert public_key_of(again) == public_key_of(key)
    assert public_key_to_str(load_hub_public_key(settings)) == public_key_of(key)
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []


def test_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    load_or_create_hub_key(settings)
    hub_key_path(settings).chmod(0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        load_or_create_hub_key(settings)


def test_mismatched_public_key_is_refused(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    load_or_create_hub_key(settings)
    other = _settings(tmp_path / "other")
    load_or_create_hub_key(other)
    hub_public_key_path(settings).write_bytes(hub_public_key_path(other).read_bytes())
    with pytest.raises(ConfigurationError, match=r"hub\.pub"):
        load_or_create_hub_key(settings)


def test_missing_public_key_is_an_error_not_a_new_key(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with pytest.raises(ConfigurationError, match="llave pública"):
        load_hub_public_key(settings)
    assert not hub_key_path(settings).exists()


def _make_key(data_dir: str, queue: multiprocessing.Queue[str]) -> None:
    queue.put(public_key_of(load_or_create_hub_key(Settings(data_dir=Path(data_dir)))))


def test_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[str] = context.Queue()
    data_dir = str(tmp_path / "var")
    workers = [context.Process(target=_make_key, args=(data_dir, queue)) for _ in range(3)]
    for worker in workers:
        worker.start()
    keys = {queue.get(timeout=60) for _ in workers}
    for worker in workers:
        worker.join(30)
    assert len(keys) == 1
