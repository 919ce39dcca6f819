"""The chain heads published on the public topic (the real broker) against a hostile DBA and a
hub that keeps working after the log was cut: ``sisi audit verify --published`` checks every
head the topic holds, and ``sisi audit published`` lets an outsider with only the topic and the
hub's public key check and keep them (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Engine

from hub.agreements.keys import key_id, public_key_of
from hub.audit import AuditLog, load_or_create_hub_key
from hub.audit.chain import ChainHead
from hub.audit.publish import CHAIN_HEAD_SUBJECT, head_to_record
from hub.broker.topics import TopicSpec, ensure_topics
from hub.contracts.catalog import load_catalog
from hub.contracts.wire import encode
from hub.gatekeeper.schemas import StoreSchemas
from hub.schema_registry.seed import seed_from_catalog
from hub.schema_registry.store import SchemaStore
from hub.settings import Settings
from hub.topics import PUBLIC_AUDIT_HEAD
from hub.worker.publisher import KafkaPublisher
from tests.hub.audit.conftest import accepted, sisi
from tests.hub.audit.test_verify_published import cut_and_reheaded


class Hub:
    """A hub's log, key and environment, publishing its heads as ``hub.worker.public`` does."""

    def __init__(self, engine: Engine, db_url: str, data_dir: Path, servers: str) -> None:
        self.engine = engine
        self.key = load_or_create_hub_key(Settings(data_dir=data_dir))
        self.log = AuditLog(engine, self.key)
        self.servers = servers
        self.env = {
            "SISI_DATABASE_URL": db_url,
            "SISI_DATA_DIR": str(data_dir),
            "SISI_BOOTSTRAP_SERVERS": servers,
        }
        ensure_topics(servers, [TopicSpec(PUBLIC_AUDIT_HEAD, 1, {})])
        seed_from_catalog(SchemaStore(engine), load_catalog(Settings().schemas_dir))
        self.schema = StoreSchemas(engine).latest(CHAIN_HEAD_SUBJECT)

    @property
    def public_key(self) -> str:
        return public_key_of(self.key)

    def publish(
        self, head: ChainHead | None = None, *, signer: Ed25519PrivateKey | None = None
    ) -> None:
        head = head or self.log.head()
        if signer is not None:
            head = ChainHead(head.sequence, head.entry_hash, signer.sign(head.entry_hash), head.at)
        record: dict[str, Any] = head_to_record(head, key_id(self.public_key))
        publisher = KafkaPublisher(self.servers)
        publisher.publish(
            PUBLIC_AUDIT_HEAD, encode(self.schema.id, self.schema.parsed, record), key=b"audit-head"
        )
        publisher.flush()


@pytest.fixture
def hub(fresh_broker, db_url: str, audit_engine: Engine, tmp_path: Path) -> Hub:  # type: ignore[no-untyped-def]
    """Four batches of three (heads 3, 6, 9, 12), each head published when it was the newest."""
    running = Hub(audit_engine, db_url, tmp_path / "var", fresh_broker.bootstrap_servers)
    for batch in range(4):
        running.log.append_many(accepted(f"m-{batch}", 3))
        running.publish()
    return running


def outsider(hub: Hub, tmp_path: Path) -> dict[str, str]:
    """What an outside checker has: the broker and the hub's public key, no database, no keys."""
    return {
        "SISI_BOOTSTRAP_SERVERS": hub.servers,
        "SISI_DATABASE_URL": "postgresql+psycopg://nadie@127.0.0.1:1/no-existe",
        "SISI_DATA_DIR": str(tmp_path / "fuera"),
    }


def test_a_log_cut_reheaded_and_grown_again_fails_against_the_older_published_heads(
    hub: Hub, tmp_path: Path
) -> None:
    """The hub keeps appending after a DBA cut the log to 6 and rolled the stored head back:
    its new heads (up to 15) describe the new chain, so checking only the newest head passed."""
    watcher = tmp_path / "cabezas"
    saved = sisi(
        outsider(hub, tmp_path), "published", "--public-key", hub.public_key, "--save", str(watcher)
    )
    assert saved.returncode == 0, saved.stderr
    assert "4 cabezas publicadas firmadas por el hub" in saved.stdout
    assert sorted(path.name for path in watcher.glob("*.json")) == [
        f"cabeza-{sequence:012d}.json" for sequence in (3, 6, 9, 12)
    ]

    cut_and_reheaded(hub.engine, keep=6)
    for batch in range(3):
        hub.log.append_many(accepted(f"nuevo-{batch}", 3))  # 7..15, a different chain
        hub.publish()
    assert hub.log.head().sequence == 15

    alone = sisi(hub.env, "verify")
    assert alone.returncode == 0, alone.stderr  # from inside the database it looks whole
    result = sisi(hub.env, "verify", "--published")
    assert result.returncode == 1, result.stdout
    assert "bitácora alterada en la entrada 9" in result.stderr
    assert "no coincide con la cabeza publicada" in result.stderr
    document = json.loads(sisi(hub.env, "verify", "--published", "--json").stdout)
    assert (document["first_bad_sequence"], document["problem"]) == (9, "EDITED")
    assert document["published_count"] == 7

    # the outsider's copies catch it too once the topic has forgotten them
    kept = sisi(hub.env, "verify", "--head", str(watcher))
    assert kept.returncode == 1 and "entrada 9" in kept.stderr


def test_an_untouched_log_contains_every_published_head(hub: Hub, tmp_path: Path) -> None:
    hub.publish(hub.log.head())  # the same head twice (two workers) counts once
    result = sisi(hub.env, "verify", "--published")
    assert result.returncode == 0, result.stderr
    assert "contiene las 4 cabezas publicadas revisadas (la más reciente, la 12)" in result.stdout
    watcher = tmp_path / "cabezas"
    env = outsider(hub, tmp_path)
    assert (
        sisi(env, "published", "--public-key", hub.public_key, "--save", str(watcher)).returncode
        == 0
    )
    hub.log.append_many(accepted("despues", 2))
    hub.publish()
    again = sisi(env, "published", "--public-key", hub.public_key, "--save", str(watcher), "--json")
    assert again.returncode == 0, again.stderr
    document = json.loads(again.stdout)
    assert (document["ok"], document["valid"], document["last_sequence"]) == (True, 6, 14)
    assert len(list(watcher.glob("*.json"))) == 5
    assert sisi(hub.env, "verify", "--head", str(watcher)).returncode == 0


def test_an_outsider_sees_a_rewrite_by_whoever_holds_the_key_and_heads_not_signed_by_the_hub(
    hub: Hub, tmp_path: Path
) -> None:
    watcher = tmp_path / "cabezas"
    env = outsider(hub, tmp_path)
    assert (
        sisi(env, "published", "--public-key", hub.public_key, "--save", str(watcher)).returncode
        == 0
    )

    # someone who can publish on the topic but has no key of the hub's
    hub.publish(signer=Ed25519PrivateKey.generate())
    result = sisi(env, "published", "--public-key", hub.public_key)
    assert result.returncode == 1
    assert "1 de las 5 cabezas del tópico no están firmadas por una llave del hub" in result.stderr
    verified = sisi(hub.env, "verify", "--published")
    assert verified.returncode == 0, verified.stderr  # ignored, but said
    assert "se ignoraron 1 registros del tópico" in verified.stderr

    # the hub's key used to rewrite the log from entry 4 on: a second head for entry 12
    entries = list(hub.log.iter_entries())
    cut_and_reheaded(hub.engine, keep=3)
    for batch in range(3):
        hub.log.append_many(accepted(f"otra-{batch}", 3))
    assert hub.log.head().sequence == 12 and hub.log.head().entry_hash != entries[11].entry_hash
    hub.publish()
    result = sisi(env, "published", "--public-key", hub.public_key, "--save", str(watcher))
    assert result.returncode == 1
    assert "hay dos cabezas firmadas por el hub para la entrada 12" in result.stderr
    assert "la bitácora se reescribió" in result.stderr
