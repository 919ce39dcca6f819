"""The program catalog: seeded from the agreements' programs with plain values."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from hub.registry.models import PROGRAMS

__all__ = ["ProgramEntry", "seed_programs"]


@dataclass(frozen=True, slots=True)
class ProgramEntry:
    """One catalog entry: clave presupuestaria, name and CONEVAL inventory key."""

    key: str
    name: str
    coneval_key: str | None = None


def seed_programs(engine: Engine, programs: Iterable[ProgramEntry]) -> int:
    """Insert or update catalog entries (idempotent); returns how many were given.

    Callers pass plain values, e.g. from an agreement's programs:
    ``[ProgramEntry(p.key, p.name, p.coneval_key) for p in agreement.programs]``.
    """
    rows = {p.key: {"key": p.key, "name": p.name, "coneval_key": p.coneval_key} for p in programs}
    if not rows:
        return 0
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(PROGRAMS)
    stmt = stmt.on_conflict_do_update(
        index_elements=["key"],
        set_={"name": stmt.excluded.name, "coneval_key": stmt.excluded.coneval_key},
    )
    with engine.begin() as conn:
        conn.execute(stmt, list(rows.values()))
    return len(rows)
