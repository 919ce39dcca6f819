"""Fixtures of the audit tests: a migrated database of each kind, a hub key, an audit log."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Engine

from hub.audit import Action, AuditEvent, AuditLog
from hub.db import make_engine, migrate


@pytest.fixture
def audit_engine(db_url: str) -> Iterator[Engine]:
    """A fresh, migrated database (SQLite and PostgreSQL)."""
    engine = make_engine(db_url)
    migrate(engine)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def hub_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def log(audit_engine: Engine, hub_key: Ed25519PrivateKey) -> AuditLog:
    return AuditLog(audit_engine, hub_key)


def accepted(message: str, count: int, agreement: str = "BIENESTAR-01") -> list[AuditEvent]:
    """``count`` ITEM_ACCEPTED events of one message, as the registry writer would record them."""
    return [
        AuditEvent(
            actor="hub.registro",
            action=Action.ITEM_ACCEPTED,
            agreement_id=agreement,
            message_id=message,
            reference_id=f"ref-{index:05d}",
            details={"programa": "S072", "operacion": "ALTA"},
        )
        for index in range(count)
    ]


SISI = str(Path(sys.executable).parent / "sisi")


def sisi(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``sisi audit ARGS`` as an operator runs it, with ``env`` over the current environment."""
    return subprocess.run(
        [SISI, "audit", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
