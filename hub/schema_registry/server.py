"""Run the registry with uvicorn: in the foreground (``serve``) or in a background thread."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool

from hub.contracts.catalog import load_catalog
from hub.db import make_engine, migrate
from hub.errors import ContractError
from hub.schema_registry.api import create_app
from hub.schema_registry.seed import SeedResult, seed_from_catalog
from hub.schema_registry.store import SchemaStore

__all__ = ["RunningRegistry", "open_store", "running_registry", "serve"]


def open_store(
    database_url: str | None, schemas_dir: Path | None = None, *, seed: bool = True
) -> tuple[SchemaStore, SeedResult | None]:
    """Engine on ``database_url`` (``None``: private in-memory SQLite), migrated and seeded."""
    engine: Engine
    if database_url is None:
        engine = make_engine(
            "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    else:
        engine = make_engine(database_url)
    migrate(engine)
    store = SchemaStore(engine)
    result = seed_from_catalog(store, load_catalog(schemas_dir)) if seed else None
    return store, result


def _bind(host: str, port: int | None) -> socket.socket:
    """A listening socket (port 0 or ``None``: a free one), bound before uvicorn starts."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port or 0))
    except OSError as exc:
        sock.close()
        raise ContractError(
            f"no se pudo abrir el puerto {port} en {host}: {exc.strerror}",
            hint="elija otro puerto con --port o detenga el proceso que lo usa.",
        ) from exc
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve(
    store: SchemaStore,
    *,
    host: str = "127.0.0.1",
    port: int = 8081,
    operator_token: str | None = None,
    log_level: str = "info",
) -> None:
    """Serve the registry in the foreground until interrupted (Ctrl-C, SIGTERM)."""
    sock = _bind(host, port)
    config = uvicorn.Config(create_app(store, operator_token), log_level=log_level, lifespan="off")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()


@dataclass(frozen=True)
class RunningRegistry:
    """A registry serving in a background thread."""

    url: str
    host: str
    port: int
    store: SchemaStore
    seed: SeedResult | None


@contextmanager
def running_registry(
    *,
    port: int | None = None,
    host: str = "127.0.0.1",
    database_url: str | None = None,
    schemas_dir: Path | None = None,
    operator_token: str | None = None,
    seed: bool = True,
) -> Iterator[RunningRegistry]:
    """Migrate, seed from ``schemas_dir`` and serve on ``port`` (``None``: a free one) until exit.

    For tests and ``sisi up``; stops the server and joins its thread on the way out.
    """
    store, seeded = open_store(database_url, schemas_dir, seed=seed)
    sock = _bind(host, port)
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(store, operator_token), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="schema-registry", daemon=True
    )
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise ContractError("el registro de esquemas no arrancó", hint="revise el log.")
            thread.join(0.02)
        shown = f"[{host}]" if ":" in host else host
        yield RunningRegistry(f"http://{shown}:{bound_port}", host, bound_port, store, seeded)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        store.engine.dispose()
