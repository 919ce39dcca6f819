"""A broken agreement file while the hub runs is reported once per state, naming the file and
what stays in force, and once more when fixed."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import pytest

from hub.agreements.loader import AgreementSet
from hub.gatekeeper import Gatekeeper
from hub.worker.app import AgreementWatch, subscribed_topics
from tests.hub.gatekeeper.fixtures import TODAY, Hub

PAM_FILE = "bienestar-pam.yaml"


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    return sqlite_url


def _write(path: Path, text: str) -> None:
    """Write ``text`` so that the directory looks changed even on a coarse file-system clock."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    if path.stat().st_mtime_ns <= before:
        os.utime(path, ns=(before + 1_000_000_000, before + 1_000_000_000))


def _looks(gatekeeper: Gatekeeper, caplog: pytest.LogCaptureFixture, times: int = 5) -> list[str]:
    """What ``times`` looks at the directory logged at WARNING or above (and their results)."""
    caplog.clear()
    results = [gatekeeper.refresh() for _ in range(times)]
    assert results.count(True) <= 1
    return [
        f"{r.levelname} {r.getMessage()}" for r in caplog.records if r.levelno >= logging.WARNING
    ]


def test_a_broken_agreement_is_reported_once_per_state(
    hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    old = hub.pipeline.gatekeeper
    gatekeeper = Gatekeeper(
        old.agreements, old.schemas, old.catalog, today=TODAY, reload_interval=0
    )
    path = Path(hub.settings.agreements_dir) / PAM_FILE
    good = path.read_text(encoding="utf-8")
    caplog.set_level(logging.INFO, logger="hub.gatekeeper.inspector")

    _write(path, good.replace("id:", "id: [sin cerrar", 1))
    (logged,) = _looks(gatekeeper, caplog)
    assert logged.startswith(f"ERROR convenio no recargado: {path} no carga; sigue en vigor")
    assert re.search(rf"{PAM_FILE}:\d+: YAML mal formado", logged)  # the file and the line

    assert _looks(gatekeeper, caplog) == []  # still broken, the same way: nothing new

    _write(path, good + "\nnot: [closed\n")  # broken another way: reported again, once
    (logged,) = _looks(gatekeeper, caplog)
    assert logged.startswith("ERROR convenio no recargado")

    _write(path, good.replace("status: vigente", "status: suspendido"))
    assert gatekeeper.refresh() is True
    fixed = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING][-1]
    assert fixed == f"convenio corregido: {path} vuelve a cargarse"
    assert _looks(gatekeeper, caplog) == []


def test_restoring_the_loaded_files_counts_as_fixed(
    hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    old = hub.pipeline.gatekeeper
    gatekeeper = Gatekeeper(
        old.agreements, old.schemas, old.catalog, today=TODAY, reload_interval=0
    )
    path = Path(hub.settings.agreements_dir) / PAM_FILE
    good, stat = path.read_text(encoding="utf-8"), path.stat()
    caplog.set_level(logging.INFO, logger="hub.gatekeeper.inspector")

    _write(path, "id: [sin cerrar\n")
    assert len(_looks(gatekeeper, caplog, times=2)) == 1
    path.write_text(good, encoding="utf-8")  # exactly the file the gatekeeper loaded
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    logged = _looks(gatekeeper, caplog)
    assert logged == [f"WARNING convenio corregido: {path} vuelve a cargarse"]


def test_the_topic_watch_leaves_the_report_to_the_gatekeeper(
    hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    folder = Path(hub.settings.agreements_dir)
    watch = AgreementWatch(hub.settings, subscribed_topics(AgreementSet(folder)))
    _write(folder / PAM_FILE, "id: [sin cerrar\n")
    caplog.set_level(logging.DEBUG, logger="hub.worker.app")
    assert watch.check() is False
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
