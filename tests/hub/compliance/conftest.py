"""Fixtures of the compliance tests: the gatekeeper's pipeline on a fresh database."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from click.testing import CliRunner

from hub.cli.main import cli
from tests.hub.gatekeeper.fixtures import Hub, hub

__all__ = ["at_once", "compliance_cli", "hub"]


def compliance_cli(hub: Hub, monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    """``sisi compliance *args`` on the hub's database and agreements; its output (exit 0)."""
    monkeypatch.setenv("SISI_DATABASE_URL", hub.settings.resolved_database_url())
    monkeypatch.setenv("SISI_AGREEMENTS_DIR", str(hub.settings.agreements_dir))
    result = CliRunner().invoke(cli, ["compliance", *args])
    assert result.exit_code == 0, result.output
    return result.output


def at_once(work: Callable[[int], object], workers: int = 2) -> None:
    """Run ``work(k)`` for each worker k in its own thread, released together; re-raise the first
    error any of them had."""
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def run(k: int) -> None:
        try:
            barrier.wait(10)
            work(k)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
