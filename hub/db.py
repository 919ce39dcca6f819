"""Database plumbing shared by every store: declarative base, engines, migrations.

The registry runs on SQLite (embedded default) and PostgreSQL (production, tests); the schema is
owned by Alembic migrations in ``hub/migrations`` and applied with :func:`migrate`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, MetaData, create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

from hub.private import private_database

__all__ = ["Base", "advisory_xact_lock", "make_engine", "migrate"]

_NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every table the hub owns."""

    metadata = MetaData(naming_convention=_NAMING)


#: SQLite page cache per connection, KiB.
SQLITE_CACHE_KIB = 65536


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: the WAL is synced at every commit. With NORMAL a commit can roll back after a power
    # loss, while the consumer offsets and the receipts that follow it (the agency then clears its
    # outbox) survive elsewhere: items would be lost. One fsync per batch of change sets; the hub
    # bench showed no difference (in-process 14.0-14.2k items/s NORMAL, 13.9-14.2k FULL).
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Page cache of 64 MiB (default 2 MiB), filled only as pages are read: the registry's unique
    # indexes take inserts at random keys, and with the default a sampling profile of the hub
    # showed 4 % of the writer in pread (pages evicted and read again); registry writes per item
    # went from ~32 to ~28 us in alternated runs.
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout, and its file and
    parent directories are private (``hub.private``)."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        private_database(Path(url.removeprefix("sqlite:///").split("?", 1)[0]))
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the database at ``engine`` to ``revision`` with Alembic."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def advisory_xact_lock(conn: Connection, name: str) -> None:
    """PostgreSQL: wait for, then hold until ``conn``'s transaction ends, the lock named ``name``
    (a transaction-level advisory lock; deadlocks with row locks are detected and raised like
    theirs). A no-op on SQLite, whose writers already hold the database's write lock."""
    if conn.dialect.name != "postgresql":
        return
    digest = hashlib.sha256(f"sisi:{name}".encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
