"""The audit tables declared in ``hub.audit.store`` are exactly what migration 0003 creates."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine

import hub.audit.store  # noqa: F401  (registers the audit tables on Base.metadata)
from hub.db import Base

AUDIT_TABLES = {"audit_log", "audit_chain_head"}


def _mentions_audit(diff: Any) -> bool:
    return any(name in repr(diff) for name in AUDIT_TABLES)


def test_tables_match_the_migration(audit_engine: Engine) -> None:
    with audit_engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diffs if _mentions_audit(d)] == []
