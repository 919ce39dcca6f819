"""Migration 0011: the stored head's signature over the whole head, on a log that predates it."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from hub.audit import AuditLog, load_or_create_hub_key
from hub.audit.headsig import HeadForm, fingerprint, head_form, head_signature_valid
from hub.audit.store import read_head
from hub.db import make_engine, migrate
from hub.settings import Settings
from tests.hub.audit.conftest import accepted, sisi


def test_a_log_from_before_0011_verifies_and_gets_signed_heads_after(
    db_url: str, tmp_path: Path
) -> None:
    engine = make_engine(db_url)
    try:
        migrate(engine, "0010")
        columns = {c["name"] for c in inspect(engine).get_columns("audit_chain_head")}
        assert "head_signature" not in columns
        settings = Settings(data_dir=tmp_path / "var")
        key = load_or_create_hub_key(settings)
        AuditLog(engine, key).append_many(accepted("m-1", 3))  # as the hub at 0010 did
        env = {"SISI_DATABASE_URL": db_url, "SISI_DATA_DIR": str(settings.data_dir)}
        before = sisi(env, "verify")
        assert before.returncode == 0, before.stderr  # a preserved copy at 0010 still verifies
        migrate(engine)
        with engine.connect() as conn:
            head = read_head(conn)
        assert head_form(head) is HeadForm.HASH_ONLY and head.key_id is None  # nothing to sign
        assert sisi(env, "verify").returncode == 0
        shown = sisi(env, "head")
        assert "forma:      v1 (forma antigua v1" in shown.stdout
        AuditLog(engine, key).append_many(accepted("m-2", 2))
        with engine.connect() as conn:
            head = read_head(conn)
        assert head_form(head) is HeadForm.SIGNED_HEAD and head.key_id == fingerprint(key)
        assert head_signature_valid(key.public_key(), head)
        after = sisi(env, "verify")
        assert after.returncode == 0, after.stderr
        assert "5 entradas verificadas" in after.stdout
    finally:
        engine.dispose()


def test_the_head_table_declared_in_the_store_is_what_the_migrations_create(
    audit_engine: Engine,
) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from hub.db import Base

    with audit_engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diffs if "audit_chain_head" in repr(d)] == []
