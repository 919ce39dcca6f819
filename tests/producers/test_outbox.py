"""The outbox keeps every change set until the hub's receipt; receipts; resend; CLI exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path

from confluent_kafka import Producer
from fastavro import parse_schema

from hub.agreements import demo_private_key
from hub.agreements.keys import generate_keypair
from hub.broker import ensure_topics, topics_for_agreements
from hub.contracts.wire import encode
from hub.settings import REPO_ROOT, Settings
from hub.topics import agreement_changes, agreement_receipts
from producers import ProduceOptions, ReceiptListener, produce_file
from producers.contract import RECEIPT_SUBJECT, SchemaSource
from producers.outbox import Outbox
from producers.store import open_state
from tests.producers.conftest import agreement, env_for
from tests.producers.helpers import read_topic

PAM = "CONV-BIENESTAR-PAM-2026"
SISI = str(REPO_ROOT / ".venv" / "bin" / "sisi")


def _produce(settings, path: Path, **options):
    return produce_file(
        agreement(PAM), demo_private_key(PAM), ProduceOptions(input=path, **options), settings
    )


def _send_receipt(settings: Settings, message_id: str, status: str, rejected=(), code=None):
    contract = SchemaSource.for_settings(settings).lookup(RECEIPT_SUBJECT, 1)
    record = {
        "receipt_id": str(uuid.uuid4()),
        "agreement_id": PAM,
        "message_id": message_id,
        "transaction_id": "t",
        "issued_at": datetime.now(UTC),
        "status": status,
        "accepted_count": 0 if status == "REJECTED" else 5 - len(rejected),
        "rejected_count": len(rejected) if rejected else (5 if status == "REJECTED" else 0),
        "reason_code": code,
        "rejected": [
            {"reference_id": ref, "reason_code": rcode, "field": "curp", "message": ""}
            for ref, rcode in rejected
        ],
    }
    value = encode(contract.schema_id, parse_schema(contract.definition), record)
    producer = Producer({"bootstrap.servers": settings.bootstrap_servers})
    producer.produce(agreement_receipts(PAM), value=value, key=message_id.encode())
    assert producer.flush(10) == 0


def test_outbox_keeps_messages_until_the_hubs_receipt(settings, synth) -> None:
    path = synth(PAM, people=15)
    summary = _produce(settings, path, chunk_size=5)
    conn = open_state(settings, PAM)
    outbox = Outbox(conn)
    ids = outbox.message_ids(summary.transaction_id)
    assert len(ids) == 3
    assert {outbox.state_of(i) for i in ids} == {"PUBLICADO"}  # broker ack is not a receipt
    assert outbox.unreceipted_ids() == set(ids)
    listener = ReceiptListener(PAM, settings, conn)
    try:
        assert listener.wait_for(ids, timeout=1.5) == set(ids)  # nothing came: still kept
        _send_receipt(settings, ids[0], "ACCEPTED")
        _send_receipt(settings, ids[1], "PARTIAL", rejected=[("S176-0000007", "CURP_CHECK_DIGIT")])
        _send_receipt(settings, ids[2], "REJECTED", code="FIRMA_INVALIDA")
        assert listener.wait_for(ids, timeout=30) == set()
    finally:
        listener.close()
    assert [outbox.state_of(i) for i in ids] == ["ACEPTADO", "PARCIAL", "RECHAZADO"]
    assert outbox.unreceipted_ids() == set()
    values = conn.execute("select count(*) from outbox where value is not null").fetchone()[0]
    assert values == 0  # cleared once receipted
    status = outbox.status()
    assert status.rejected_items == {"CURP_CHECK_DIGIT": 1, "FIRMA_INVALIDA": 5}
    assert "dígito verificador" in status.reasons["CURP_CHECK_DIGIT"]
    assert "firma" in status.reasons["FIRMA_INVALIDA"]
    assert status.items == {"ACEPTADO": 9, "RECHAZADO": 6}
    conn.close()
    # rejected items count as not delivered: the same file sends exactly them again
    again = _produce(settings, path)
    assert (again.altas, again.cambios, again.bajas) == (6, 0, 0)


def test_resend_after_the_broker_restarts_empty(fresh_broker, registry, synth, tmp_path) -> None:
    settings = Settings(
        bootstrap_servers=fresh_broker.bootstrap_servers,
        schema_registry_url=registry.url,
        data_dir=tmp_path / "var",
    )
    ensure_topics(fresh_broker.bootstrap_servers, topics_for_agreements([PAM]))
    summary = _produce(settings, synth(PAM, people=12), chunk_size=4)
    topic = agreement_changes(PAM)
    assert len(read_topic(settings, topic)) == 3
    fresh_broker.restart()  # Tansu forgets everything, topics included
    down = subprocess.run(
        [SISI, "outbox", "resend", "--agreement", PAM, "--timeout", "3"],
        env=env_for(settings), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert down.returncode == 1 and "no existe" in down.stdout  # resend creates no topics
    ensure_topics(fresh_broker.bootstrap_servers, topics_for_agreements([PAM]))
    done = subprocess.run(
        [SISI, "outbox", "resend", "--agreement", PAM, "--json"],
        env=env_for(settings), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report[0]["published"] == 3
    ids = {headers["sisi-message-id"].decode() for _, headers in read_topic(settings, topic)}
    conn = open_state(settings, PAM)
    assert ids == set(Outbox(conn).message_ids(summary.transaction_id))
    conn.close()


def test_cli_exit_codes_and_json(settings, synth, tmp_path) -> None:
    env = env_for(settings)

    def run(*args: str, environ=env) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [SISI, *args], env=environ, capture_output=True, text=True, timeout=180
        )

    clean = synth(PAM, people=10)
    ok = run("produce", "--agreement", PAM, "--input", str(clean), "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["altas"] == 10
    dirty = synth(PAM, people=30, error_rate=0.3, seed=5)
    bad = run("produce", "--agreement", PAM, "--input", str(dirty), "--dry-run")
    assert bad.returncode == 1 and "inválidos" in bad.stdout and "simulación" in bad.stdout
    missing = run("produce", "--agreement", PAM, "--input", str(tmp_path / "no-existe.txt"))
    assert missing.returncode == 2 and "no existe" in missing.stderr
    unknown = run("produce", "--agreement", "CONV-NO-EXISTE-2026", "--input", str(clean))
    assert unknown.returncode == 2
    folder = tmp_path / "agreements"
    shutil.copytree(REPO_ROOT / "agreements", folder)
    pam_file = folder / "bienestar-pam.yaml"
    text = pam_file.read_text(encoding="utf-8").replace(
        "environment: demo", "environment: produccion"
    )
    demo_key = next(line for line in text.splitlines() if line.startswith("public_key:"))
    # a production agreement carries the agency's own public key, never the demo one
    text = text.replace(demo_key, f"public_key: {generate_keypair()[1]}")
    pam_file.write_text(text, encoding="utf-8")
    production = run(
        "produce", "--agreement", PAM, "--input", str(clean),
        environ={**env, "SISI_AGREEMENTS_DIR": str(folder)},
    )  # fmt: skip
    assert production.returncode == 2 and "--key" in production.stderr
    status = run("outbox", "status", "--agreement", PAM, "--json", "--no-refresh")
    assert status.returncode == 0
    assert json.loads(status.stdout)[0]["messages"] == {"PUBLICADO": 1}
    text = run("outbox", "status", "--agreement", PAM, "--no-refresh")
    assert text.returncode == 0 and "elementos publicados" in text.stdout  # Spanish plural
