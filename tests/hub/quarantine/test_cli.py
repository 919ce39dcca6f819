"""Operator commands over a processed database: quarantine, compliance, registry person."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from hub.cli.main import cli
from hub.errors import SisiError
from hub.worker import KafkaMessage
from tests.hub.gatekeeper.changesets import PAM, change_set, item, sealed, topic_of
from tests.hub.gatekeeper.fixtures import Hub


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    return sqlite_url


def _run(hub: Hub, *args: str) -> tuple[int, str]:
    env = {
        "SISI_DATABASE_URL": hub.settings.resolved_database_url(),
        "SISI_DATA_DIR": str(hub.settings.data_dir),
        "SISI_AGREEMENTS_DIR": str(hub.settings.agreements_dir),
    }
    result = CliRunner().invoke(cli, list(args), env=env)
    if isinstance(result.exception, SisiError):  # ``sisi`` renders these on stderr
        return result.exception.exit_code, result.exception.render()
    return result.exit_code, result.output


def test_quarantine_compliance_and_audited_person_lookup(hub: Hub) -> None:
    value, headers = sealed(hub.engine, change_set(PAM, [item(1), item(2, program="S311")]))
    hub.pipeline.process(KafkaMessage(topic_of(PAM), 0, 0, value, tuple(headers)))

    code, out = _run(hub, "quarantine", "list", "--json")
    assert code == 0
    entries = json.loads(out)
    assert [(e["reference_id"], e["reason_code"]) for e in entries] == [
        ("R0000002", "PROGRAMA_FUERA_DE_CONVENIO")
    ]
    entry = str(entries[0]["id"])
    code, out = _run(hub, "quarantine", "show", entry, "--json")
    assert code != 0  # the original bytes hold personal data: --purpose is required
    code, out = _run(hub, "quarantine", "show", entry, "--purpose", " ")
    assert code != 0 and "finalidad" in out
    code, out = _run(hub, "quarantine", "show", entry, "--json", "--purpose", "revisión")
    assert code == 0 and bytes.fromhex(json.loads(out)["value_hex"]) == value
    code, out = _run(hub, "quarantine", "show", entry, "--purpose", "revisión")
    assert code == 0 and "motivo" in out and "PROGRAMA_FUERA_DE_CONVENIO" in out
    assert "reason_code" not in out and "agreement_id" not in out  # labels in Spanish
    with hub.engine.connect() as conn:
        read = conn.execute(
            text("select purpose, details from audit_log where action = 'PERSONAL_DATA_READ'")
        ).all()
    assert [(r.purpose, json.loads(r.details)["subject"]) for r in read] == [
        ("revisión", f"cuarentena:{entry}"),
        ("revisión", f"cuarentena:{entry}"),
    ]
    code, out = _run(
        hub,
        "quarantine",
        "replay",
        str(entries[0]["id"]),
        "--yes",
        "--purpose",
        "programa agregado",
    )
    assert code != 0 and "conjunto nuevo" in out  # item data: the agency must resend
    code, out = _run(hub, "quarantine", "show", "999", "--purpose", "revisión")
    assert code != 0

    code, out = _run(hub, "compliance", "--json")
    assert code == 0
    (row,) = [r for r in json.loads(out) if r["agreement_id"] == PAM]  # all agreements listed
    assert (row["items_accepted"], row["items_rejected"]) == (1, 1)
    assert row["rejections_by_reason"] == {"PROGRAMA_FUERA_DE_CONVENIO": 1}
    code, out = _run(hub, "compliance")
    assert code == 0 and "PROGRAMA_FUERA_DE_CONVENIO" in out

    curp = item(1)["person"]["curp"]
    code, out = _run(hub, "registry", "person", curp)
    assert code != 0  # --purpose is required
    code, out = _run(hub, "registry", "person", curp, "--purpose", "aclaración ARCO", "--json")
    assert code == 0
    assert json.loads(out)["person"]["curp"] == curp
    with hub.engine.connect() as conn:
        rows = conn.execute(
            text("select actor, purpose from audit_log where action = 'PERSONAL_DATA_READ'")
        ).all()
    assert len(rows) == 3 and rows[2].purpose == "aclaración ARCO" and rows[2].actor
    code, out = _run(hub, "registry", "stats", "--json")
    assert code == 0 and json.loads(out)["applied_items"] == 1


def test_a_set_refused_with_a_receipt_is_not_replayed(hub: Hub) -> None:
    """Its agency was told REJECTED and sends the items again itself: a replay would double them."""
    import datetime as dt

    gatekeeper = hub.pipeline.gatekeeper
    today = gatekeeper._today
    gatekeeper._today = dt.date(2025, 12, 1)  # the agreement is not in force yet
    value, headers = sealed(hub.engine, change_set(PAM, [item(5)]))
    outcome = hub.pipeline.process(KafkaMessage(topic_of(PAM), 0, 0, value, tuple(headers)))
    gatekeeper._today = today
    assert outcome.reason_code == "CONVENIO_NO_VIGENTE"

    code, out = _run(hub, "quarantine", "list", "--json")
    (entry,) = json.loads(out)
    code, out = _run(
        hub, "quarantine", "replay", str(entry["id"]), "--yes", "--purpose", "convenio renovado"
    )
    assert code != 0
    assert "acuse RECHAZADO" in out and "entregue de nuevo" in out
