"""Findings of a new user's README walkthrough, on SQLite and PostgreSQL: ``published`` trusts
only the keys given, a key history of a log before ``sisi up --reset`` does not judge the new
log, and saved heads that are missing or altered are told as such (not as an altered log)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Engine

from hub.agreements.keys import public_key_of
from hub.audit import AuditLog, load_or_create_hub_key
from hub.audit.chain import ChainHead
from hub.audit.headsig import fingerprint
from hub.audit.keyring import keyring_path, read_keyring
from hub.audit.rotation import rotate_hub_key
from hub.db import make_engine, migrate
from hub.settings import Settings
from tests.hub.audit.conftest import accepted, sisi


@pytest.fixture
def saved_head(db_url: str, audit_engine: Engine, tmp_path: Path) -> tuple[dict[str, str], Path]:
    """A log of two batches (heads 3 and 6) and its head saved as `sisi audit head --json`."""
    data_dir = tmp_path / "var"
    log = AuditLog(audit_engine, load_or_create_hub_key(Settings(data_dir=data_dir)))
    for batch in range(2):
        log.append_many(accepted(f"m-{batch}", 3))
    env = {"SISI_DATABASE_URL": db_url, "SISI_DATA_DIR": str(data_dir)}
    saved = sisi(env, "head", "--json")
    assert saved.returncode == 0, saved.stderr
    path = tmp_path / "cabeza.json"
    path.write_text(saved.stdout, encoding="utf-8")
    return env, path


def test_a_missing_head_file_says_which_file_and_what_to_do(
    saved_head: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    env, _ = saved_head
    missing = tmp_path / "nada.json"
    result = sisi(env, "verify", "--head", str(missing))
    assert result.returncode == 2
    assert "no existe el archivo de la cabeza publicada" in result.stderr
    assert str(missing) in result.stderr
    assert "sisi audit head --json" in result.stderr
    assert "Error" not in result.stderr.replace("error:", "")  # no Python exception name
    binary = tmp_path / "binaria.json"
    binary.write_bytes(b"\xff\xfe\x00cabeza")
    result = sisi(env, "verify", "--head", str(binary))
    assert result.returncode == 2
    assert "no es texto UTF-8" in result.stderr and str(binary) in result.stderr


@pytest.mark.parametrize("field", ["entry_hash", "head_signature", "signature"])
def test_an_altered_head_file_is_refused_as_altered_not_the_log(
    saved_head: tuple[dict[str, str], Path], tmp_path: Path, field: str
) -> None:
    """One hex digit of the hash (or one byte of a signature) changed in a saved head: the head
    is refused as altered, the intact log is not called altered (README: what a head proves)."""
    env, path = saved_head
    document = json.loads(path.read_text(encoding="utf-8"))
    if field == "entry_hash":
        value = document[field]
        document[field] = ("1" if value[0] != "1" else "2") + value[1:]
    else:
        import base64

        raw = bytearray(base64.b64decode(document[field]))
        raw[5] ^= 0x01
        document[field] = base64.b64encode(bytes(raw)).decode("ascii")
    altered = tmp_path / "alterada.json"
    altered.write_text(json.dumps(document), encoding="utf-8")
    result = sisi(env, "verify", "--head", str(altered))
    assert result.returncode == 1
    assert f"cabeza publicada alterada en {altered} (entrada 6)" in result.stderr
    assert "la cabeza fue alterada" in result.stderr
    assert "bitácora alterada" not in result.stderr + result.stdout
    assert "bitácora íntegra: 6 entradas verificadas" in result.stdout
    as_json = json.loads(sisi(env, "verify", "--json", "--head", str(altered)).stdout)
    assert as_json["ok"] is False and as_json["problem"] is None
    assert [item["source"] for item in as_json["altered_heads"]] == [str(altered)]
    # the genuine file still verifies
    assert sisi(env, "verify", "--head", str(path)).returncode == 0


# --- published heads (the real broker) ---


def _publish(engine: Engine, servers: str, head: ChainHead) -> None:
    from hub.audit.publish import CHAIN_HEAD_SUBJECT, head_to_record
    from hub.contracts.wire import encode
    from hub.gatekeeper.schemas import StoreSchemas
    from hub.topics import PUBLIC_AUDIT_HEAD
    from hub.worker.publisher import KafkaPublisher

    schema = StoreSchemas(engine).latest(CHAIN_HEAD_SUBJECT)
    publisher = KafkaPublisher(servers)
    publisher.publish(
        PUBLIC_AUDIT_HEAD, encode(schema.id, schema.parsed, head_to_record(head)), key=b"h"
    )
    publisher.flush()


def _topic(engine: Engine, servers: str) -> None:
    from hub.broker.topics import TopicSpec, ensure_topics
    from hub.contracts.catalog import load_catalog
    from hub.schema_registry.seed import seed_from_catalog
    from hub.schema_registry.store import SchemaStore
    from hub.topics import PUBLIC_AUDIT_HEAD

    ensure_topics(servers, [TopicSpec(PUBLIC_AUDIT_HEAD, 1, {})])
    seed_from_catalog(SchemaStore(engine), load_catalog(Settings().schemas_dir))


def test_published_trusts_only_the_given_keys_not_the_data_directory(  # type: ignore[no-untyped-def]
    fresh_broker, db_url: str, audit_engine: Engine, tmp_path: Path
) -> None:
    """Run where the data directory holds the hub's keys, `published --public-key` of another
    key (an agency's) must refuse every head, as `verify` refuses the log."""
    servers = fresh_broker.bootstrap_servers
    _topic(audit_engine, servers)
    settings = Settings(data_dir=tmp_path / "var")
    log = AuditLog(audit_engine, load_or_create_hub_key(settings))
    log.append_many(accepted("m-1", 3))
    _publish(audit_engine, servers, log.head())
    env = {
        "SISI_DATABASE_URL": db_url,
        "SISI_DATA_DIR": str(settings.data_dir),
        "SISI_BOOTSTRAP_SERVERS": servers,
    }
    other = public_key_of(Ed25519PrivateKey.generate())
    watched = sisi(env, "published", "--public-key", other)
    assert watched.returncode == 1, watched.stdout
    assert "1 de las 1 cabezas del tópico no están firmadas por una llave del hub" in (
        watched.stderr
    )
    assert "cabezas publicadas firmadas por el hub" not in watched.stdout
    refused = sisi(env, "verify", "--public-key", other)
    assert refused.returncode == 1
    assert "ninguna firma de la bitácora es de una llave de confianza" in refused.stderr
    # the same with a forged key history naming the other key: still only the given key counts
    forged = Ed25519PrivateKey.generate()
    keyring = keyring_path(settings)
    keyring.write_text(
        json.dumps({"public_key": public_key_of(forged), "key_id": fingerprint(forged)}) + "\n",
        encoding="utf-8",
    )
    watched = sisi(env, "published", "--public-key", other, "--json")
    assert watched.returncode == 1 and json.loads(watched.stdout)["valid"] == 0
    # the hub's own key, given: one head, said in the singular
    mine = sisi(env, "published", "--public-key", public_key_of(log_key(settings)))
    assert mine.returncode == 0, mine.stderr
    assert mine.stdout.startswith("1 cabeza publicada firmada por el hub (")


def log_key(settings: Settings) -> Ed25519PrivateKey:
    return load_or_create_hub_key(settings)


def test_a_reset_starts_a_new_log_and_the_old_key_history_does_not_judge_it(  # type: ignore[no-untyped-def]
    fresh_broker, db_url: str, audit_engine: Engine, tmp_path: Path
) -> None:
    """rotate-key on a first log, then `sisi up --reset` (a new log, keys/ kept): the current
    key signs the new log from entry 1; `published`, `keys` and `verify` agree it is in order."""
    servers = fresh_broker.bootstrap_servers
    _topic(audit_engine, servers)
    settings = Settings(data_dir=tmp_path / "var")
    old_engine = make_engine(f"sqlite:///{tmp_path / 'anterior.sqlite3'}")
    migrate(old_engine)
    first = load_or_create_hub_key(settings)
    AuditLog(old_engine, first).append_many(accepted("m-0", 20))
    rotate_hub_key(settings, old_engine, actor="ana", reason="rotación anual")
    old_engine.dispose()
    current = load_or_create_hub_key(settings)
    history = read_keyring(keyring_path(settings))
    assert [r.key_id for r in history] == [fingerprint(first), fingerprint(current)]
    assert history[-1].rotation_sequence == 21
    # the new log (the reset): the kept key signs it from entry 1
    log = AuditLog(audit_engine, current)
    log.append_many(accepted("m-1", 3))
    _publish(audit_engine, servers, log.head())  # head 3, before entry 21 of the old log
    env = {
        "SISI_DATABASE_URL": db_url,
        "SISI_DATA_DIR": str(settings.data_dir),
        "SISI_BOOTSTRAP_SERVERS": servers,
    }
    watched = sisi(env, "published")
    assert watched.returncode == 0, watched.stderr
    assert "comprometida" not in watched.stderr and "retirada" not in watched.stderr
    verified = sisi(env, "verify", "--published")
    assert verified.returncode == 0, verified.stderr
    keys = sisi(env, "keys")
    assert keys.returncode == 0, keys.stderr
    lines = keys.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(fingerprint(current))
    assert "desde el inicio" in lines[0] and "(actual)" in lines[0]
    assert "otra bitácora" in keys.stderr and fingerprint(first) in keys.stderr
    assert json.loads(sisi(env, "keys", "--json").stdout)[0]["key_id"] == fingerprint(current)

    # a rotation of the new log: the history then judges the new log with its own records
    rotate_hub_key(settings, audit_engine, actor="ana", reason="rotación anual")
    newest = load_or_create_hub_key(settings)
    log = AuditLog(audit_engine, newest)
    log.append_many(accepted("m-2", 3))
    _publish(audit_engine, servers, log.head())
    watched = sisi(env, "published")
    assert watched.returncode == 0, watched.stderr
    keys = sisi(env, "keys", "--json")
    assert [r["key_id"] for r in json.loads(keys.stdout)] == [
        fingerprint(current),
        fingerprint(newest),
    ]
    # the retired key of the new log signing after its rotation is still caught, and worded so
    from hub.audit.headsig import sign_head

    seventh = log.head()
    signature, signer = sign_head(current, 8, seventh.entry_hash, seventh.at)
    stolen = ChainHead(
        8, seventh.entry_hash, current.sign(seventh.entry_hash), seventh.at, signature, signer
    )
    _publish(audit_engine, servers, stolen)
    watched = sisi(env, "published")
    assert watched.returncode == 1
    assert f"firmada con la llave {fingerprint(current)}" in watched.stderr
    assert "se retiró con la rotación de la entrada 4" in watched.stderr
