"""Alembic environment: runs migrations on the connection handed in by ``hub.db.migrate``."""

from __future__ import annotations

from alembic import context

from hub.db import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - migrations always run through hub.db.migrate
    raise RuntimeError("use hub.db.migrate(engine) to run the hub's migrations")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
