"""Fixtures of the producer tests: a Schema Registry, producer settings and synthetic padrones."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.agreements import Agreement, load_agreements
from hub.broker import EmbeddedBroker, ensure_topics, topics_for_agreements
from hub.schema_registry import RunningRegistry, running_registry
from hub.settings import Settings

PADRONES = (
    "CONV-BIENESTAR-PAM-2026",
    "CONV-CNBBBJ-BUEMS-2026",
    "CONV-EDOMEX-MCB-2026",
    "CONV-LEON-JEFAS-2026",
)
SUFFIX = {"CONV-EDOMEX-MCB-2026": ".xlsx", "CONV-CNBBBJ-BUEMS-2026": ".csv"}


@pytest.fixture(scope="session")
def registry() -> Iterator[RunningRegistry]:
    """The hub's Schema Registry (in-memory, seeded from avro_schemas/) in a background thread."""
    with running_registry() as running:
        yield running


@pytest.fixture(scope="session")
def agreement_topics(broker: EmbeddedBroker) -> None:
    ensure_topics(broker.bootstrap_servers, topics_for_agreements(PADRONES))


@pytest.fixture
def settings(
    broker: EmbeddedBroker, registry: RunningRegistry, agreement_topics: None, tmp_path: Path
) -> Settings:
    """Producer settings on the session broker and registry, with a state dir of its own."""
    return Settings(
        bootstrap_servers=broker.bootstrap_servers,
        schema_registry_url=registry.url,
        data_dir=tmp_path / "var",
    )


def agreement(agreement_id: str) -> Agreement:
    return load_agreements().get(agreement_id)


Synth = Callable[..., Path]


@pytest.fixture
def synth(tmp_path: Path) -> Synth:
    """``synth(agreement_id, people=30, seed=1, delivery=1, error_rate=0.0)`` -> file path."""
    from producers.synth.padron import generate_padron
    from producers.synth.writer import write_records

    def make(
        agreement_id: str,
        people: int = 30,
        seed: int = 1,
        delivery: int = 1,
        error_rate: float = 0.0,
    ) -> Path:
        found = agreement(agreement_id)
        out = (
            tmp_path / f"{agreement_id}-d{delivery}-e{error_rate}{SUFFIX.get(agreement_id, '.txt')}"
        )
        records = generate_padron(found, people, seed, delivery, error_rate)
        write_records(records, found.layout, out, title=found.title)
        return out

    return make


def env_for(settings: Settings, **extra: Any) -> dict[str, str]:
    """Environment variables that make the ``sisi`` command use ``settings``."""
    import os

    env = {
        **os.environ,
        "SISI_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "SISI_SCHEMA_REGISTRY_URL": settings.schema_registry_url,
        "SISI_DATA_DIR": str(settings.data_dir),
    }
    env.update({k: str(v) for k, v in extra.items()})
    return env
