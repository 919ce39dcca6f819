"""Fixtures shared by the gatekeeper, quarantine, compliance and worker tests."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from hub.db import make_engine
from hub.settings import REPO_ROOT, Settings
from hub.worker import HubPipeline, RecordingPublisher, build_pipeline, prepare_database

#: The agreement the temp directory carries expired (its validity ended before TODAY).
EXPIRED = "CONV-LEON-JEFAS-2026"
TODAY = dt.date(2026, 6, 15)


def copy_agreements(target: Path) -> Path:
    """The repository's agreements, with LEON's copy expired on 2026-05-31."""
    target.mkdir(parents=True, exist_ok=True)
    for path in (REPO_ROOT / "agreements").glob("*.yaml"):
        shutil.copy(path, target / path.name)
    leon = target / "leon-jefas-familia.yaml"
    text = leon.read_text(encoding="utf-8")
    start = text.index("valid_until:")
    end = text.index("\n", start)
    leon.write_text(text[:start] + "valid_until: 2026-05-31" + text[end:], encoding="utf-8")
    return target


@dataclass
class Hub:
    """A pipeline on a fresh database, with what it published."""

    settings: Settings
    engine: Engine
    pipeline: HubPipeline
    published: RecordingPublisher


@pytest.fixture
def hub(db_url: str, tmp_path: Path) -> Iterator[Hub]:
    """A migrated, seeded database (SQLite and PostgreSQL) and a pipeline on it."""
    settings = Settings(
        database_url=db_url,
        data_dir=tmp_path / "var",
        agreements_dir=copy_agreements(tmp_path / "agreements"),
    )
    prepare_database(settings)
    engine = make_engine(db_url)
    published = RecordingPublisher()
    pipeline = build_pipeline(settings, published, engine=engine, today=TODAY)
    try:
        yield Hub(settings, engine, pipeline, published)
    finally:
        engine.dispose()
