"""Hub key rotation: a log signed by two keys over time verifies with the rotation recorded, and
every way of breaking the chain of custody is caught (in memory, then SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text
from sqlalchemy.engine import Engine

from hub.agreements.keys import public_key_of
from hub.audit import GENESIS_HASH, AuditLog, ChainHead, Problem, extend_chain, verify_chain
from hub.audit.chain import AuditEntry, AuditEvent
from hub.audit.custody import HubKeys, rotation_event
from hub.audit.headsig import fingerprint
from hub.audit.keyring import keyring_path, read_keyring
from hub.audit.keys import hub_key_path, load_or_create_hub_key, pseudonym_secret_path
from hub.audit.pseudonym import ReferenceMask
from hub.audit.rotation import rotate_hub_key
from hub.audit.store import HubKeyRetiredError, iter_entries, read_head
from hub.settings import Settings
from tests.hub.audit.conftest import accepted, sisi

AT = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)


class Writer:
    """Builds a chain in memory batch by batch, each signed with the key it is given."""

    def __init__(self) -> None:
        self.entries: list[AuditEntry] = []
        self.head = ChainHead(0, GENESIS_HASH, b"", None)

    def batch(self, events: Sequence[AuditEvent], key: Ed25519PrivateKey) -> list[AuditEntry]:
        sign: Callable[[Sequence[bytes]], list[bytes]] = lambda hashes: [  # noqa: E731
            key.sign(h) for h in hashes
        ]
        at = AT + timedelta(seconds=len(self.entries))
        more = extend_chain(self.head, events, at, sign)
        self.entries += more
        last = more[-1]
        assert last.signature is not None
        self.head = ChainHead(last.sequence, last.entry_hash, last.signature, last.recorded_at)
        return more


def rotated_chain() -> tuple[Writer, Ed25519PrivateKey, Ed25519PrivateKey]:
    """Entries 1-3 signed by the first key, 4 the rotation (signed by it), 5-7 by the second."""
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    writer = Writer()
    writer.batch(accepted("m-1", 3), old)
    writer.batch([rotation_event("ana", old, new, "rotación anual")], old)
    writer.batch(accepted("m-2", 3), new)
    return writer, old, new


def test_a_log_signed_by_two_keys_verifies_with_the_rotation_recorded() -> None:
    writer, old, new = rotated_chain()
    for trusted in ((old.public_key(),), (new.public_key(),)):
        report = verify_chain(writer.entries, HubKeys(old.public_key(), trusted))
        assert report.ok, report.reason
        assert report.keys == ((1, fingerprint(old), None), (5, fingerprint(new), 4))
        assert (
            f"llaves del hub: {fingerprint(old)} desde la entrada 1, {fingerprint(new)} desde la "
            "entrada 5 (rotación en la entrada 4)"
        ) in report.render()
    # the first key alone is enough to start: the log names the next one
    assert verify_chain(writer.entries, old.public_key()).ok


def test_a_rotation_not_signed_by_the_previous_key_is_refused() -> None:
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    writer = Writer()
    writer.batch(accepted("m-1", 3), old)
    writer.batch([rotation_event("intruso", old, new, "toma de control")], new)  # signed by new
    writer.batch(accepted("m-2", 3), new)
    report = verify_chain(writer.entries, HubKeys(old.public_key(), (old.public_key(),)))
    assert (report.problem, report.first_bad_sequence) == (Problem.FORGED, 4)
    assert "no está firmada por la llave que retira" in (report.reason or "")


def test_a_rotation_from_a_key_not_in_force_is_refused() -> None:
    old, mine, other = (Ed25519PrivateKey.generate() for _ in range(3))
    writer = Writer()
    writer.batch(accepted("m-1", 3), old)
    # an outsider writes "my key → another key" and signs it with their own key
    writer.batch([rotation_event("intruso", mine, other, "toma de control")], mine)
    report = verify_chain(writer.entries, old.public_key())
    assert (report.problem, report.first_bad_sequence) == (Problem.FORGED, 4)
    assert f"la llave en vigor es la {fingerprint(old)}" in (report.reason or "")


def test_a_removed_rotation_entry_is_detected_even_with_the_chain_rebuilt() -> None:
    writer, old, new = rotated_chain()
    # the holder of the new key rebuilds the chain without the rotation and signs with it
    rebuilt = Writer()
    rebuilt.batch(accepted("m-1", 3), old)
    rebuilt.entries = writer.entries[:3]
    rebuilt.batch(accepted("m-2", 3), new)
    keys = HubKeys(old.public_key(), (old.public_key(), new.public_key()))
    report = verify_chain(rebuilt.entries, keys)
    assert (report.problem, report.first_bad_sequence) == (Problem.FORGED, 4)
    assert f"es de la llave {fingerprint(new)}, que no estaba en vigor" in (report.reason or "")
    assert "se borró una rotación de llave" in (report.reason or "")
    # removed as it is: a gap
    report = verify_chain(writer.entries[:3] + writer.entries[4:], keys)
    assert (report.problem, report.first_bad_sequence) == (Problem.DELETED, 4)


def test_the_retired_key_cannot_sign_after_the_rotation() -> None:
    writer, old, _new = rotated_chain()
    writer.batch(accepted("m-3", 2), old)  # the retired (maybe stolen) key goes on signing
    report = verify_chain(writer.entries, old.public_key())
    assert (report.problem, report.first_bad_sequence) == (Problem.FORGED, 8)
    assert f"es de la llave {fingerprint(old)}, que no estaba en vigor" in (report.reason or "")


def test_a_history_that_only_names_the_trusted_key_proves_nothing() -> None:
    """A forged log signed by the forger's key, ending in a rotation to the hub's key: the
    hub's key never signed anything in it."""
    forger, hub = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    writer = Writer()
    writer.batch(accepted("m-1", 3), forger)
    writer.batch([rotation_event("intruso", forger, hub, "rotación anual")], forger)
    report = verify_chain(writer.entries, HubKeys(forger.public_key(), (hub.public_key(),)))
    assert report.problem == Problem.FORGED
    assert "ninguna firma de la bitácora es de una llave de confianza" in (report.reason or "")


# --- the store and the files, SQLite and PostgreSQL ---


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "var")


def test_rotation_in_the_database_and_files(audit_engine: Engine, settings: Settings) -> None:
    first = load_or_create_hub_key(settings)
    old_log = AuditLog(audit_engine, first)
    old_log.append_many(accepted("m-1", 3))
    folio = "GODE561231HDFRRN09"
    masked = old_log.reference_mask(folio)
    rotation = rotate_hub_key(settings, audit_engine, actor="ana", reason="rotación anual")
    assert (rotation.sequence, rotation.old_key_id) == (4, fingerprint(first))
    with pytest.raises(HubKeyRetiredError, match="reinicie este proceso"):
        old_log.append_many(accepted("m-2", 1))  # a process still on the retired key
    second = load_or_create_hub_key(settings)  # what a restarted process loads
    assert fingerprint(second) == rotation.new_key_id != rotation.old_key_id
    new_log = AuditLog(audit_engine, second)
    new_log.append_many(accepted("m-2", 3))
    # the CURP digests do not change with the key (idempotency keys, "who read my data")
    assert ReferenceMask(second)(folio) == masked
    assert pseudonym_secret_path(settings).stat().st_mode & 0o077 == 0
    history = read_keyring(keyring_path(settings))
    assert [(r.key_id, r.first_sequence, r.rotation_sequence) for r in history] == [
        (fingerprint(first), 1, None),
        (fingerprint(second), 5, 4),
    ]
    assert (settings.data_dir / "keys" / "retired" / f"hub-{fingerprint(first)}.pub").exists()
    assert hub_key_path(settings).stat().st_mode & 0o077 == 0
    entries = list(iter_entries(audit_engine))
    rotation_entry = entries[3]
    assert rotation_entry.action == "HUB_KEY_ROTATED" and rotation_entry.actor == "ana"
    assert rotation_entry.details["new_public_key"] == public_key_of(second)
    assert rotation_entry.details["previous_public_key"] == public_key_of(first)
    with audit_engine.connect() as conn:
        head = read_head(conn)
    keys = HubKeys(first.public_key(), (second.public_key(),))
    report = verify_chain(entries, keys, expected_head=head)
    assert report.ok, report.reason
    assert report.keys[-1] == (5, fingerprint(second), 4)


def test_an_interrupted_rotation_is_finished_not_repeated(
    audit_engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = load_or_create_hub_key(settings)
    AuditLog(audit_engine, first).append_many(accepted("m-1", 2))
    import hub.audit.rotation as rotation_module

    original = rotation_module._install

    def crash(*args: object) -> None:
        raise OSError("corte de luz")

    monkeypatch.setattr(rotation_module, "_install", crash)
    with pytest.raises(OSError):
        rotate_hub_key(settings, audit_engine, actor="ana", reason="rotación anual")
    monkeypatch.setattr(rotation_module, "_install", original)
    assert fingerprint(load_or_create_hub_key(settings)) == fingerprint(first)  # not installed
    resumed = rotate_hub_key(settings, audit_engine, actor="ana", reason="rotación anual")
    assert resumed.resumed and resumed.sequence == 3
    assert len([e for e in iter_entries(audit_engine) if e.action == "HUB_KEY_ROTATED"]) == 1
    assert fingerprint(load_or_create_hub_key(settings)) == resumed.new_key_id


def test_a_reason_that_says_nothing_is_refused(audit_engine: Engine, settings: Settings) -> None:
    load_or_create_hub_key(settings)
    from hub.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="no dice por qué"):
        rotate_hub_key(settings, audit_engine, actor="ana", reason="x")


# --- the commands ---


def _env(db_url: str, settings: Settings) -> dict[str, str]:
    return {"SISI_DATABASE_URL": db_url, "SISI_DATA_DIR": str(settings.data_dir)}


def _two_keys(db_url: str, audit_engine: Engine, settings: Settings) -> dict[str, str]:
    """A log of 3 entries, `sisi audit rotate-key`, then 3 more entries with the new key."""
    AuditLog(audit_engine, load_or_create_hub_key(settings)).append_many(accepted("m-1", 3))
    env = _env(db_url, settings)
    rotated = sisi(env, "rotate-key", "--motivo", "rotación anual")
    assert rotated.returncode == 0, rotated.stderr
    assert "llave del hub rotada" in rotated.stdout and "entrada 4" in rotated.stdout
    AuditLog(audit_engine, load_or_create_hub_key(settings)).append_many(accepted("m-2", 3))
    return env


def test_verify_a_log_signed_by_two_keys_from_the_command_line(
    db_url: str, audit_engine: Engine, settings: Settings
) -> None:
    env = _two_keys(db_url, audit_engine, settings)
    history = read_keyring(keyring_path(settings))
    result = sisi(env, "verify")
    assert result.returncode == 0, result.stderr
    assert "7 entradas verificadas" in result.stdout
    assert f"{history[1].key_id} desde la entrada 5 (rotación en la entrada 4)" in result.stdout
    # an outside verifier with either published key
    for record in history:
        alone = sisi(env, "verify", "--json", "--public-key", record.public_key)
        assert alone.returncode == 0, alone.stderr
        assert [k["key_id"] for k in json.loads(alone.stdout)["keys"]] == [
            r.key_id for r in history
        ]
    stranger = public_key_of(Ed25519PrivateKey.generate())
    refused = sisi(env, "verify", "--public-key", stranger)
    assert refused.returncode == 1
    assert "ninguna firma de la bitácora es de una llave de confianza" in refused.stderr
    keys = sisi(env, "keys")
    assert keys.returncode == 0 and "(actual)" in keys.stdout
    assert all(record.public_key in keys.stdout for record in history)
    head = json.loads(sisi(env, "head", "--json").stdout)
    assert (head["form"], head["key_id"]) == ("v2", history[1].key_id)
    listed = sisi(env, "list", "--action", "HUB_KEY_ROTATED")
    assert (
        f"rotación de la llave del hub {history[0].key_id} → {history[1].key_id}" in listed.stdout
    )
    assert "motivo «rotación anual»" in listed.stdout


def test_a_rotation_entry_removed_from_the_database_is_detected(
    db_url: str, audit_engine: Engine, settings: Settings
) -> None:
    env = _two_keys(db_url, audit_engine, settings)
    with audit_engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE sequence = 4"))
    result = sisi(env, "verify", "--json")
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert (document["problem"], document["first_bad_sequence"]) == ("DELETED", 4)


def test_a_cut_before_the_rotation_is_caught_by_the_key_history(
    db_url: str, audit_engine: Engine, settings: Settings
) -> None:
    """The rotation and everything after it deleted and the stored head moved back to entry 3
    (without its head signature): the log alone looks whole, the key history does not."""
    env = _two_keys(db_url, audit_engine, settings)
    entries = list(iter_entries(audit_engine))
    third = entries[2]
    with audit_engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE sequence >= 4"))
        conn.execute(
            text(
                "UPDATE audit_chain_head SET sequence = 3, entry_hash = :h, signature = :s, "
                "head_signature = NULL, key_id = NULL"
            ),
            {"h": third.entry_hash, "s": third.signature},
        )
    result = sisi(env, "verify")
    assert result.returncode == 1
    assert "registra la rotación a la llave" in result.stderr
    assert "se borró la entrada de rotación" in result.stderr


def test_a_rotation_signed_by_the_new_key_in_the_database_is_refused(
    db_url: str, audit_engine: Engine, settings: Settings
) -> None:
    first = load_or_create_hub_key(settings)
    env = _two_keys(db_url, audit_engine, settings)
    second = load_or_create_hub_key(settings)
    rotation = list(iter_entries(audit_engine))[3]
    with audit_engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_log SET signature = :s WHERE sequence = 4"),
            {"s": second.sign(rotation.entry_hash)},
        )
    result = sisi(env, "verify", "--json")
    document = json.loads(result.stdout)
    assert (document["problem"], document["first_bad_sequence"]) == ("FORGED", 4)
    assert f"no está firmada por la llave que retira ({fingerprint(first)})" in document["reason"]


def test_rotate_key_is_refused_while_sisi_up_holds_the_data_dir(
    db_url: str, audit_engine: Engine, settings: Settings
) -> None:
    from hub.cli.local_state import hold_data_dir

    AuditLog(audit_engine, load_or_create_hub_key(settings)).append_many(accepted("m-1", 1))
    with hold_data_dir(settings.data_dir):
        result = sisi(_env(db_url, settings), "rotate-key", "--motivo", "rotación anual")
    assert result.returncode == 2
    assert "el hub está en marcha" in result.stderr and "detenga `sisi up`" in result.stderr
    assert len(list(iter_entries(audit_engine))) == 1  # nothing recorded


# --- published heads across a rotation (the real broker) ---


def _publish(engine: Engine, servers: str, head: ChainHead) -> None:
    from hub.audit.publish import CHAIN_HEAD_SUBJECT, head_to_record
    from hub.contracts.wire import encode
    from hub.gatekeeper.schemas import StoreSchemas
    from hub.topics import PUBLIC_AUDIT_HEAD
    from hub.worker.publisher import KafkaPublisher

    schema = StoreSchemas(engine).latest(CHAIN_HEAD_SUBJECT)
    publisher = KafkaPublisher(servers)
    record = head_to_record(head, None if head.head_signature else head.key_id)
    publisher.publish(
        PUBLIC_AUDIT_HEAD, encode(schema.id, schema.parsed, record), key=b"audit-head"
    )
    publisher.flush()


def test_heads_published_before_and_after_a_rotation(  # type: ignore[no-untyped-def]
    fresh_broker, db_url: str, audit_engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    from dataclasses import replace

    from hub.audit.headsig import sign_head
    from hub.broker.topics import TopicSpec, ensure_topics
    from hub.contracts.catalog import load_catalog
    from hub.schema_registry.seed import seed_from_catalog
    from hub.schema_registry.store import SchemaStore
    from hub.topics import PUBLIC_AUDIT_HEAD

    servers = fresh_broker.bootstrap_servers
    ensure_topics(servers, [TopicSpec(PUBLIC_AUDIT_HEAD, 1, {})])
    seed_from_catalog(SchemaStore(audit_engine), load_catalog(Settings().schemas_dir))
    first = load_or_create_hub_key(settings)
    log = AuditLog(audit_engine, first)
    log.append_many(accepted("m-1", 3))
    _publish(audit_engine, servers, log.head())  # v2, first key, entry 3
    rotate_hub_key(settings, audit_engine, actor="ana", reason="rotación anual")
    _publish(audit_engine, servers, log.head())  # the rotation's head, signed by the new key
    log = AuditLog(audit_engine, load_or_create_hub_key(settings))
    log.append_many(accepted("m-2", 3))
    _publish(audit_engine, servers, log.head())  # v2, second key, entry 7
    env = {**_env(db_url, settings), "SISI_BOOTSTRAP_SERVERS": servers}
    history = read_keyring(keyring_path(settings))

    checked = sisi(env, "verify", "--published")
    assert checked.returncode == 0, checked.stderr
    assert "contiene las 3 cabezas publicadas revisadas (la más reciente, la 7)" in checked.stdout
    outside = {**env, "SISI_DATA_DIR": str(tmp_path / "fuera")}
    keys = [arg for record in history for arg in ("--public-key", record.public_key)]
    watched = sisi(outside, "published", *keys, "--json")
    assert watched.returncode == 0, watched.stderr
    document = json.loads(watched.stdout)
    assert (document["valid"], document["valid_v2"], document["key_ids"]) == (
        3,
        3,
        sorted(r.key_id for r in history),
    )

    # the retired key (kept by a thief) signs a head for an entry after its retirement
    seventh = list(iter_entries(audit_engine))[6]
    signature, signer = sign_head(first, 7, seventh.entry_hash, seventh.recorded_at)
    assert seventh.signature is not None
    stolen = ChainHead(
        7,
        seventh.entry_hash,
        first.sign(seventh.entry_hash),
        seventh.recorded_at,
        signature,
        signer,
    )
    _publish(audit_engine, servers, stolen)
    watched = sisi(env, "published")  # with the key history of the data directory
    assert watched.returncode == 1
    assert f"firmada con la llave {fingerprint(first)}, que según el historial" in watched.stderr
    verified = sisi(env, "verify", "--published")
    assert verified.returncode == 1
    assert f"es de la llave {fingerprint(first)}, que no estaba en vigor" in verified.stderr

    # a genuine head of entry 7 republished as the head of entry 5: its signature fails
    genuine = log.head()
    _publish(audit_engine, servers, replace(genuine, sequence=5))
    watched = sisi(outside, "published", *keys)
    assert watched.returncode == 1
    assert "1 de las 5 cabezas del tópico no están firmadas por una llave del hub" in watched.stderr
    assert "fueron alteradas después de firmarse" in watched.stderr


def test_an_outsider_reads_heads_written_with_either_version_of_the_contract(  # type: ignore[no-untyped-def]
    fresh_broker, db_url: str, audit_engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """Heads published before AuditChainHead v2 are on the topic next to v2 ones; a checker
    without the hub's registry reads each with the version it was written with."""
    from hub.audit.publish import CHAIN_HEAD_SUBJECT, head_to_record
    from hub.broker.topics import TopicSpec, ensure_topics
    from hub.contracts.catalog import load_catalog
    from hub.contracts.wire import encode
    from hub.gatekeeper.schemas import StoreSchemas
    from hub.schema_registry.seed import seed_from_catalog
    from hub.schema_registry.store import SchemaStore
    from hub.topics import PUBLIC_AUDIT_HEAD
    from hub.worker.publisher import KafkaPublisher

    servers = fresh_broker.bootstrap_servers
    ensure_topics(servers, [TopicSpec(PUBLIC_AUDIT_HEAD, 1, {})])
    seed_from_catalog(SchemaStore(audit_engine), load_catalog(Settings().schemas_dir))
    key = load_or_create_hub_key(settings)
    log = AuditLog(audit_engine, key)
    log.append_many(accepted("m-1", 3))
    old = log.head()
    log.append_many(accepted("m-2", 3))
    schemas = StoreSchemas(audit_engine)
    v1 = schemas.resolve(SchemaStore(audit_engine).get_version(CHAIN_HEAD_SUBJECT, 1).id)
    v2 = schemas.latest(CHAIN_HEAD_SUBJECT)
    assert v2.id != v1.id
    record = head_to_record(old, fingerprint(key))
    del record["head_signature"]  # as the hub wrote heads before v2
    publisher = KafkaPublisher(servers)
    publisher.publish(PUBLIC_AUDIT_HEAD, encode(v1.id, v1.parsed, record), key=b"audit-head")
    publisher.publish(
        PUBLIC_AUDIT_HEAD, encode(v2.id, v2.parsed, head_to_record(log.head())), key=b"audit-head"
    )
    publisher.flush()
    outside = {"SISI_BOOTSTRAP_SERVERS": servers, "SISI_DATA_DIR": str(tmp_path / "fuera")}
    result = sisi(outside, "published", "--public-key", public_key_of(key), "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    counts = (document["valid"], document["valid_v2"], document["valid_old_form"])
    assert counts == (2, 1, 1), document
    text_out = sisi(outside, "published", "--public-key", public_key_of(key)).stdout
    assert "1 de forma antigua v1: su firma cubre sólo el hash" in text_out
    env = {**_env(db_url, settings), "SISI_BOOTSTRAP_SERVERS": servers}
    verified = sisi(env, "verify", "--published")
    assert verified.returncode == 0, verified.stderr
    assert "1 de forma v2, con su secuencia firmada; 1 de forma antigua v1" in verified.stdout
