"""Producer and the real hub (``sisi hub``) on a real broker: receipts, restarts, tampering, SDK."""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text

from hub.agreements import demo_private_key
from hub.agreements.loader import AgreementSet
from hub.broker import ensure_topics, topics_for_agreements
from hub.db import make_engine
from hub.envelope import seal
from hub.errors import SisiError
from hub.registry import stats
from hub.schema_registry import running_registry
from hub.settings import REPO_ROOT, Settings
from producers import (
    AgencyClient,
    AsyncAgencyClient,
    InvalidChangeError,
    ProduceOptions,
    produce_file,
)
from producers.changeset import ChangeSetHeader, epoch_days
from producers.contract import SchemaSource
from producers.outbox import Outbox
from producers.pipeline import codec_spec
from producers.store import open_state
from tests.hub.worker.running import HubProcess
from tests.producers.conftest import agreement, env_for

PAM = "CONV-BIENESTAR-PAM-2026"
SISI = str(REPO_ROOT / ".venv" / "bin" / "sisi")


#: One beneficiary, as a live system sends her (the SDK tests).
_PERSON = {
    "curp": "HEGM450312MDFRRR05", "primer_apellido": "HERNANDEZ", "segundo_apellido": "GARCIA",
    "nombre": "MARIA", "fecha_nacimiento": date(1945, 3, 12), "sexo": "M",
    "entidad_nacimiento": "DF",
}  # fmt: skip
_BENEFIT = {"clave_programa": "S176", "tipo_beneficio": "MONETARIO", "monto": Decimal("6200.00")}
_GEOGRAPHY = {"cve_ent": "09", "cve_mun": "007", "cve_loc": "0001"}


@dataclasses.dataclass
class Stack:
    hub: HubProcess
    settings: Settings
    url: str


@pytest.fixture
def stack(fresh_broker, tmp_path: Path) -> Iterator[Stack]:
    """``sisi hub`` and a Schema Registry on the hub's own database (same schema ids)."""
    url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    hub = HubProcess(fresh_broker, url, tmp_path)
    with running_registry(database_url=url) as registry:
        settings = Settings(
            bootstrap_servers=fresh_broker.bootstrap_servers,
            schema_registry_url=registry.url,
            data_dir=tmp_path / "agency",
        )
        hub.start()
        try:
            yield Stack(hub, settings, url)
        finally:
            hub.stop()


def _produce(stack: Stack, path: Path, **options):
    return produce_file(
        agreement(PAM), demo_private_key(PAM), ProduceOptions(input=path, **options), stack.settings
    )


def _exactly_once(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            doubled = conn.execute(
                text(
                    "select count(*) from (select message_id, reference_id from applied_items "
                    "group by message_id, reference_id having count(*) > 1) d"
                )
            ).scalar_one()
        assert doubled == 0
        return int(stats(engine)["applied_items"])
    finally:
        engine.dispose()


def test_deliveries_survive_an_empty_broker_restart_and_tampering_is_refused(
    stack: Stack, fresh_broker, synth
) -> None:
    first = _produce(stack, synth(PAM, people=30), chunk_size=10, wait=True, timeout=120)
    assert (first.accepted, first.rejected, first.awaiting_receipt) == (30, 0, 0), (
        first.rejected_by_code, stack.hub.log_tail(),
    )  # fmt: skip
    assert first.exit_code == 0
    # one change set per item: the broker restart below cuts an upload of several sets
    second = _produce(stack, synth(PAM, people=30, delivery=2), chunk_size=1)
    sent = second.altas + second.cambios + second.bajas
    assert second.published == second.change_sets > 1
    # the broker dies in the middle of the upload and comes back empty
    stack.hub.stop()
    fresh_broker.restart()
    ids = AgreementSet(stack.settings.agreements_dir).ids
    ensure_topics(fresh_broker.bootstrap_servers, topics_for_agreements(ids))
    stack.hub.start()
    resend = subprocess.run(
        [SISI, "outbox", "resend", "--agreement", PAM, "--wait", "--timeout", "120"],
        env=env_for(stack.settings), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert resend.returncode == 0, resend.stdout + resend.stderr
    conn = open_state(stack.settings, PAM)
    outbox = Outbox(conn)
    assert outbox.unreceipted_ids() == set(), stack.hub.log_tail()
    assert outbox.status(second.transaction_id).items == {"ACEPTADO": sent}
    assert _exactly_once(stack.url) == 30 + sent
    # one byte changed after signing: the hub refuses the whole change set
    found = agreement(PAM)
    contract = SchemaSource.for_settings(stack.settings).changeset_contract(found)
    codec = codec_spec(found, contract.schema_id, contract.definition).build()
    tail = codec.encode_tail(
        {"primer_apellido": "LOPEZ", "nombre": "ANA", "clave_programa": "S176",
         "tipo_beneficio": "MONETARIO", "monto": Decimal("6200.00"), "cve_ent": "01",
         "cve_mun": "001", "fecha_nacimiento": date(1950, 1, 1), "sexo": "M"}
    )  # fmt: skip
    message_id = str(uuid.uuid4())
    header = ChangeSetHeader(message_id, message_id, "BIENESTAR", PAM, datetime.now(UTC), 0, 1)
    value = codec.frame(header, [codec.encode_item("X-1", "ALTA", epoch_days(date.today()), tail)])
    envelope = seal(demo_private_key(PAM), PAM, message_id, value)
    tampered = bytearray(envelope.value)
    tampered[-3] ^= 0x01
    conn.execute("BEGIN")
    outbox.add(
        dataclasses.replace(envelope, value=bytes(tampered)),
        transaction_id=message_id, chunk_index=0, item_count=1,
    )  # fmt: skip
    conn.execute("COMMIT")
    conn.close()
    refused = subprocess.run(
        [SISI, "outbox", "resend", "--agreement", PAM, "--wait", "--timeout", "5"],
        env=env_for(stack.settings), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    # the hub sends no receipt to an unauthenticated sender: the outbox keeps it (exit 1)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    engine = make_engine(stack.url)
    try:
        query = text(
            "select e.reason_code from quarantine_entries e join quarantine_messages m "
            "on m.id = e.quarantine_message_id where m.message_id = :id"
        )
        codes: list[str] = []
        for _ in range(120):  # the hub may still be at it: look again, at most for a while
            with engine.connect() as db:
                codes = list(db.execute(query, {"id": message_id}).scalars())
            if codes:
                break
            time.sleep(0.5)
    finally:
        engine.dispose()
    assert codes == ["FIRMA_INVALIDA"], stack.hub.log_tail()
    assert _exactly_once(stack.url) == 30 + sent


def test_sdk_publishes_live_changes_with_receipts(stack: Stack) -> None:
    person, benefit = dict(_PERSON), dict(_BENEFIT)
    geography = dict(_GEOGRAPHY)
    with AgencyClient(PAM, demo_private_key(PAM), settings=stack.settings) as client:
        with pytest.raises(InvalidChangeError) as invalid:
            client.publish_change("ALTA", reference_id="LIVE-0", person={"nombre": "ANA"})
        assert "primer_apellido" in str(invalid.value)
        alta = {
            "reference_id": "LIVE-1",
            "person": person,
            "benefit": benefit,
            "geography": geography,
        }
        with pytest.raises(SisiError, match="LIVE-1 aparece dos veces") as twice:
            paid = {**benefit, "fecha_beneficio": date(2026, 3, 15)}
            client.publish(
                [{"operation": "ALTA", **alta}, {"operation": "PAGO", **alta, "benefit": paid}]
            )
        assert twice.value.field == "reference_id"
        message_id = client.publish_change(
            "ALTA", reference_id="LIVE-1", person=person, benefit=benefit, geography=geography
        )
        receipt = client.wait_receipt(message_id, timeout=120)
        assert receipt.status == "ACCEPTED", (receipt, stack.hub.log_tail())
        assert client.state(message_id) == "ACEPTADO"

    async def live() -> str:
        async with AsyncAgencyClient(PAM, demo_private_key(PAM), settings=stack.settings) as aio:
            sent = await aio.publish_change(
                "BAJA", reference_id="LIVE-1", person=person, benefit=benefit
            )
            answer = await aio.wait_receipt(sent, timeout=120)
            return answer.status

    assert asyncio.run(live()) == "ACCEPTED"
    conn = open_state(stack.settings, PAM)
    assert conn.execute("select count(*) from snapshot").fetchone()[0] == 0  # BAJA reflected
    conn.close()


def test_sdk_retry_with_an_idempotency_key_pays_once(stack: Stack) -> None:
    person, benefit = dict(_PERSON), dict(_BENEFIT)
    paid = {**benefit, "fecha_beneficio": date(2026, 3, 15)}
    geography = dict(_GEOGRAPHY)
    change = {"reference_id": "LIVE-9", "person": person, "geography": geography}
    key = "pago-LIVE-9-2026-03"
    with AgencyClient(PAM, demo_private_key(PAM), settings=stack.settings) as client:
        alta = client.publish_change("ALTA", **change, benefit=benefit)
        assert client.wait_receipt(alta, timeout=120).status == "ACCEPTED", stack.hub.log_tail()
        first = client.publish_change("PAGO", **change, benefit=paid, idempotency_key=key)
        again = client.publish_change("PAGO", **change, benefit=paid, idempotency_key=key)
        assert again == first
        with pytest.raises(SisiError, match="ya se usó para otros cambios") as reused:
            other = {**paid, "monto": Decimal("6300.00")}
            client.publish_change("PAGO", **change, benefit=other, idempotency_key=key)
        assert reused.value.field == "idempotency_key"
        assert client.wait_receipt(first, timeout=120).status == "ACCEPTED"
    # a new process (the agency's system restarted) retrying the same call
    with AgencyClient(PAM, demo_private_key(PAM), settings=stack.settings) as client:
        assert client.publish_change("PAGO", **change, benefit=paid, idempotency_key=key) == first
        assert client.state(first) == "ACEPTADO"
    engine = make_engine(stack.url)
    try:
        with engine.connect() as conn:
            payments = conn.execute(
                text("select count(*) from benefits_paid where reference_id = 'LIVE-9'")
            ).scalar_one()
    finally:
        engine.dispose()
    assert payments == 1
