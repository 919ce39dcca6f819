"""Session-wide fixtures: databases (SQLite and PostgreSQL) and the real broker.

Registry tests take ``db_url``, which runs them once on SQLite and once on PostgreSQL. The
PostgreSQL database is created fresh for the test session and dropped afterwards. Set
``SISI_TEST_PG_URL`` to point at another server (default: the local one, trust auth).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from hub.broker import EmbeddedBroker, TopicSpec, ensure_topics
from hub.db import make_engine

PG_ADMIN_URL = os.environ.get(
    "SISI_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _pg_available() -> bool:
    try:
        engine = make_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """Admin URL of a reachable PostgreSQL server; fails (not skips) in CI when there is none."""
    if not _pg_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL no responde en {PG_ADMIN_URL}; CI necesita PostgreSQL")
        pytest.skip(f"PostgreSQL no responde en {PG_ADMIN_URL}")
    yield PG_ADMIN_URL


@pytest.fixture
def pg_url(pg_server_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"sisi_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(pg_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = pg_server_url.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite database file for one test."""
    return f"sqlite:///{tmp_path / 'registry.sqlite3'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Runs a test once per supported database: SQLite and PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def db_engine(db_url: str) -> Iterator[Engine]:
    """An engine on a fresh database of each kind, disposed afterwards."""
    engine = make_engine(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


# -- the real broker (Tansu) -------------------------------------------------------------------
# One embedded broker per test session (per xdist worker: each worker is its own session) on a
# free port. Tests that kill or restart a broker take ``fresh_broker`` instead.

TopicFactory = Callable[..., str]


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    """The session's embedded broker; its log is in the session's temp directory."""
    log = tmp_path_factory.mktemp("broker") / "tansu.log"
    with EmbeddedBroker(log_path=log) as running:
        yield running


@pytest.fixture
def fresh_broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    """A broker of one's own for a test that kills, restarts or stops it."""
    with EmbeddedBroker(log_path=tmp_path / "tansu.log") as running:
        yield running


@pytest.fixture
def topic_factory(broker: EmbeddedBroker) -> TopicFactory:
    """Creates uniquely named topics on the session broker: ``topic_factory(partitions=1)``."""

    def create(prefix: str = "test", partitions: int = 1, **config: str) -> str:
        name = f"{prefix}.{uuid.uuid4().hex[:12]}"
        ensure_topics(broker.bootstrap_servers, [TopicSpec(name, partitions, config)])
        return name

    return create


@pytest.fixture
def kafka_topic(topic_factory: TopicFactory) -> str:
    """One fresh single-partition topic on the session broker."""
    return topic_factory()
