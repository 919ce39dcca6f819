"""Throw-away PostgreSQL databases for the benchmarks: made on demand, all dropped at the end."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import text

from hub.db import make_engine

__all__ = ["PG_SERVER", "scratch_databases"]

#: The local server the benchmarks use (an admin URL: its database only serves to connect).
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@contextmanager
def scratch_databases(server: str = PG_SERVER) -> Iterator[Callable[[], str]]:
    """A factory of URLs of fresh empty databases on ``server``; every one is dropped on exit.

    Calling the factory raises (the driver's error) when the server cannot be reached.
    """
    admin = make_engine(server, isolation_level="AUTOCOMMIT")
    created: list[str] = []

    def fresh() -> str:
        name = f"sisi_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return server.rsplit("/", 1)[0] + f"/{name}"

    try:
        yield fresh
    finally:
        if created:
            with admin.connect() as conn:
                for name in created:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
