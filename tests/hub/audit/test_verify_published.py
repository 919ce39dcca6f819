"""``sisi audit verify --head``/``--published``: a log cut and re-headed in the database is caught
only against a head the hub published and someone kept outside it (both databases)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from hub.audit import AuditLog, load_or_create_hub_key
from hub.audit.publish import CHAIN_HEAD_SUBJECT, head_to_record
from hub.audit.store import read_head
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


@pytest.fixture
def hub(db_url: str, audit_engine: Engine, tmp_path: Path) -> tuple[dict[str, str], Path]:
    """Four batches of three entries (signed heads 3, 6, 9, 12) and the head saved as published."""
    data_dir = tmp_path / "var"
    log = AuditLog(audit_engine, load_or_create_hub_key(Settings(data_dir=data_dir)))
    for batch in range(4):
        log.append_many(accepted(f"m-{batch}", 3))
    env = {"SISI_DATABASE_URL": db_url, "SISI_DATA_DIR": str(data_dir)}
    saved = sisi(env, "head", "--json")
    assert saved.returncode == 0, saved.stderr
    published = tmp_path / "cabeza-2026-11-24.json"
    published.write_text(saved.stdout, encoding="utf-8")
    assert json.loads(saved.stdout)["sequence"] == 12
    return env, published


def cut_and_reheaded(engine: Engine, keep: int) -> None:
    """Delete the entries after ``keep`` and copy entry ``keep``'s real hash and signature into
    the stored head, as someone with write access to the database could (dropping the head
    signature, which names the real last entry: a head of the old form)."""
    with engine.begin() as conn:
        row = conn.execute(
            text("SELECT entry_hash, signature FROM audit_log WHERE sequence = :s"), {"s": keep}
        ).one()
        conn.execute(text("DELETE FROM audit_log WHERE sequence > :s"), {"s": keep})
        conn.execute(
            text(
                "UPDATE audit_chain_head SET sequence = :s, entry_hash = :h, signature = :g, "
                "head_signature = NULL, key_id = NULL WHERE id = 1"
            ),
            {"s": keep, "h": row.entry_hash, "g": row.signature},
        )


def test_untouched_log_contains_the_published_head(hub: tuple[dict[str, str], Path]) -> None:
    env, published = hub
    result = sisi(env, "verify", "--head", str(published))
    assert result.returncode == 0, result.stderr
    assert "12 entradas verificadas" in result.stdout
    assert "contiene la cabeza publicada 12" in result.stdout
    document = json.loads(sisi(env, "verify", "--json", "--head", str(published)).stdout)
    assert document["ok"] is True and document["published_sequence"] == 12


def test_an_older_published_head_is_fine_once_the_log_grew(
    hub: tuple[dict[str, str], Path], audit_engine: Engine, tmp_path: Path
) -> None:
    env, published = hub
    log = AuditLog(
        audit_engine, load_or_create_hub_key(Settings(data_dir=Path(env["SISI_DATA_DIR"])))
    )
    log.append_many(accepted("m-later", 3))
    result = sisi(env, "verify", "--head", str(published))
    assert result.returncode == 0, result.stderr
    assert "15 entradas verificadas" in result.stdout


def test_cut_and_reheaded_log_passes_alone_but_fails_against_the_published_head(
    hub: tuple[dict[str, str], Path], audit_engine: Engine
) -> None:
    env, published = hub
    cut_and_reheaded(audit_engine, keep=6)
    alone = sisi(env, "verify")
    assert alone.returncode == 0, alone.stderr  # the limit: the stored head was rolled back too
    assert "sin --head ni --published" in alone.stdout
    result = sisi(env, "verify", "--head", str(published))
    assert result.returncode == 1
    assert "la bitácora termina en la entrada 6 pero se publicó la cabeza 12" in result.stderr
    document = json.loads(sisi(env, "verify", "--json", "--head", str(published)).stdout)
    assert (document["ok"], document["problem"], document["first_bad_sequence"]) == (
        False,
        "TRUNCATED",
        7,
    )


def test_a_head_with_a_changed_sequence_is_refused_and_the_log_not_blamed(
    hub: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    """A genuine head of entry 12 relabelled as the head of entry 9. Its head signature covers
    the sequence: refused as altered. Of the old form (only the hash signed) it is refused too,
    as relabelled, since the log holds that hash at 12: the log is not called rewritten."""
    env, published = hub
    record = json.loads(published.read_text(encoding="utf-8"))
    assert record["form"] == "v2" and record["head_signature"]
    other = tmp_path / "otra.json"
    other.write_text(json.dumps(dict(record, sequence=9)), encoding="utf-8")
    result = sisi(env, "verify", "--head", str(other))
    assert result.returncode == 1
    assert "la cabeza fue alterada (su secuencia" in result.stderr
    assert "reescrita" not in result.stderr

    old_form = dict(record, sequence=9, head_signature=None, form="v1")
    other.write_text(json.dumps(old_form), encoding="utf-8")
    result = sisi(env, "verify", "--head", str(other))
    assert result.returncode == 1
    assert "forma antigua v1" in result.stderr
    assert "el hash que el hub firmó es el de la entrada 12" in result.stderr
    assert "le cambió el número de secuencia" in result.stderr
    assert "reescrita" not in result.stderr
    # the same head of the old form at its own sequence is still evidence (through the log)
    other.write_text(json.dumps(dict(old_form, sequence=12)), encoding="utf-8")
    result = sisi(env, "verify", "--head", str(other))
    assert result.returncode == 0, result.stderr
    assert "1 de forma antigua v1" in result.stdout


def test_an_old_form_head_whose_hash_is_not_in_the_log_shows_a_rewrite(
    hub: tuple[dict[str, str], Path], audit_engine: Engine, tmp_path: Path
) -> None:
    env, published = hub
    record = json.loads(published.read_text(encoding="utf-8"))
    cut_and_reheaded(audit_engine, keep=9)
    # the hub appends again: 10.. is another chain, and the hash of 12 is nowhere
    log = AuditLog(
        audit_engine, load_or_create_hub_key(Settings(data_dir=Path(env["SISI_DATA_DIR"])))
    )
    log.append_many(accepted("otro", 3))
    old_form = tmp_path / "v1.json"
    old_form.write_text(json.dumps(dict(record, head_signature=None, form="v1")), encoding="utf-8")
    result = sisi(env, "verify", "--head", str(old_form))
    assert result.returncode == 1
    assert "no está en ninguna entrada de la bitácora: la bitácora fue reescrita" in result.stderr


def test_emptied_log_with_reset_head_fails_against_the_published_head(
    hub: tuple[dict[str, str], Path], audit_engine: Engine
) -> None:
    env, published = hub
    with audit_engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log"))
        conn.execute(text("UPDATE audit_chain_head SET sequence = 0 WHERE id = 1"))
    assert sisi(env, "verify").returncode == 0  # the limit again
    result = sisi(env, "verify", "--head", str(published))
    assert result.returncode == 1
    assert "la bitácora está vacía pero se publicó la cabeza 12" in result.stderr


def test_a_head_file_with_a_wrong_signature_fails(
    hub: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    env, published = hub
    record = json.loads(published.read_text(encoding="utf-8"))
    forged = tmp_path / "falsa.json"
    forged.write_text(json.dumps(dict(record, signature=(b"\x01" * 64).hex())), encoding="utf-8")
    result = sisi(env, "verify", "--head", str(forged))
    assert result.returncode == 1
    assert "la firma de la cabeza publicada" in result.stderr
    assert "no es de la llave del hub" in result.stderr


def test_the_avro_record_fields_in_hex_are_accepted(
    hub: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    env, published = hub
    record = json.loads(published.read_text(encoding="utf-8"))
    import base64

    as_record = {
        "sequence": record["sequence"],
        "entry_hash": record["entry_hash"],
        "signature": base64.b64decode(record["signature"]).hex(),
        "key_id": record["key_id"],
        "recorded_at": 1764000000000,
        "published_at": 1764000000000,
    }
    path = tmp_path / "registro.json"
    path.write_text(json.dumps(as_record), encoding="utf-8")
    result = sisi(env, "verify", "--head", str(path))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ("{no es json", None),
        ('{"entry_hash": "00", "signature": "00"}', "sequence"),
        ('{"sequence": 12, "signature": "AAAA"}', "entry_hash"),
        ('{"sequence": 12, "entry_hash": "abcd", "signature": "AAAA"}', "entry_hash"),
        ('{"sequence": -1}', "sequence"),
        ("[1, 2]", None),
    ],
)
def test_a_malformed_head_file_exits_2_naming_file_and_field(
    hub: tuple[dict[str, str], Path], tmp_path: Path, content: str, field: str | None
) -> None:
    env, _ = hub
    path = tmp_path / "mala.json"
    path.write_text(content, encoding="utf-8")
    result = sisi(env, "verify", "--head", str(path))
    assert result.returncode == 2, result.stderr
    assert str(path) in result.stderr
    if field is not None:
        assert f"campo '{field}'" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_head_signed_with_another_key_says_which(
    hub: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    env, published = hub
    record = json.loads(published.read_text(encoding="utf-8"))
    path = tmp_path / "otra-llave.json"
    path.write_text(json.dumps(dict(record, key_id="ed25519:0000")), encoding="utf-8")
    result = sisi(env, "verify", "--head", str(path))
    assert result.returncode == 2
    assert "ed25519:0000" in result.stderr and "key_id" in result.stderr


def test_verify_against_the_head_published_on_the_broker(
    fresh_broker, db_url: str, audit_engine: Engine, tmp_path: Path
) -> None:
    data_dir = tmp_path / "var"
    key = load_or_create_hub_key(Settings(data_dir=data_dir))
    log = AuditLog(audit_engine, key)
    for batch in range(3):
        log.append_many(accepted(f"m-{batch}", 2))
    env = {
        "SISI_DATABASE_URL": db_url,
        "SISI_DATA_DIR": str(data_dir),
        "SISI_BOOTSTRAP_SERVERS": fresh_broker.bootstrap_servers,
    }
    ensure_topics(fresh_broker.bootstrap_servers, [TopicSpec(PUBLIC_AUDIT_HEAD, 1, {})])
    nothing = sisi(env, "verify", "--published")
    assert nothing.returncode == 2
    assert "no tiene ninguna cabeza publicada" in nothing.stderr and "--head" in nothing.stderr

    seed_from_catalog(SchemaStore(audit_engine), load_catalog(Settings().schemas_dir))
    schema = StoreSchemas(audit_engine).latest(CHAIN_HEAD_SUBJECT)
    with audit_engine.connect() as conn:
        head = read_head(conn)
    from hub.agreements.keys import key_id, public_key_of

    publisher = KafkaPublisher(fresh_broker.bootstrap_servers)
    publisher.publish(
        PUBLIC_AUDIT_HEAD,
        encode(schema.id, schema.parsed, head_to_record(head, key_id(public_key_of(key)))),
        key=b"audit-head",
    )
    publisher.flush()

    result = sisi(env, "verify", "--published")
    assert result.returncode == 0, result.stderr
    assert "contiene la cabeza publicada 6" in result.stdout

    cut_and_reheaded(audit_engine, keep=4)
    assert sisi(env, "verify").returncode == 0
    result = sisi(env, "verify", "--published")
    assert result.returncode == 1
    assert "la bitácora termina en la entrada 4 pero se publicó la cabeza 6" in result.stderr
