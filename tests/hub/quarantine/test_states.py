"""What an entry needs (its state), what became of a replay, and what ``show`` hands out.

Each test runs on SQLite and PostgreSQL (the ``hub`` fixture), through the real pipeline and the
real ``sisi`` commands.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import text

from hub.cli.main import cli
from hub.errors import SisiError
from hub.quarantine.replay import ReplayRefusedError, replay
from hub.quarantine.store import get_item, list_items
from hub.worker import KafkaMessage, RecordingPublisher
from tests.hub.gatekeeper.changesets import PAM, change_set, item, sealed, topic_of
from tests.hub.gatekeeper.fixtures import TODAY, Hub
from tests.hub.quarantine.test_replay import _replay, _replayed_entries

PAM_FILE = "bienestar-pam.yaml"
_ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def _env(hub: Hub) -> dict[str, str]:
    return {
        "SISI_DATABASE_URL": hub.settings.resolved_database_url(),
        "SISI_DATA_DIR": str(hub.settings.data_dir),
        "SISI_AGREEMENTS_DIR": str(hub.settings.agreements_dir),
        "SISI_BOOTSTRAP_SERVERS": "127.0.0.1:1",  # never a broker someone else runs
    }


def _run(hub: Hub, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=_env(hub))
    if isinstance(result.exception, SisiError):  # ``sisi`` renders these on stderr
        return result.exception.exit_code, result.stdout, result.exception.render()
    return result.exit_code, result.stdout, result.stderr


def _show(hub: Hub, entry: int) -> dict[str, object]:
    code, out, err = _run(hub, "quarantine", "show", str(entry), "--purpose", "revisión", "--json")
    assert code == 0, out + err
    document: dict[str, object] = json.loads(out)
    return document


def _states(hub: Hub) -> dict[int, str]:
    return {i.id: i.state for i in list_items(hub.engine, limit=1000)}


def _send(hub: Hub, offset: int, value: bytes, headers: list[tuple[str, bytes]]) -> str:
    outcome = hub.pipeline.process(KafkaMessage(topic_of(PAM), 0, offset, value, tuple(headers)))
    return str(outcome.status)


def _without_pam(hub: Hub, tmp_path: Path) -> None:
    shutil.move(hub.settings.agreements_dir / PAM_FILE, tmp_path / PAM_FILE)
    assert hub.pipeline.gatekeeper.refresh(force=True)


def _pam_back(hub: Hub, tmp_path: Path, *, reload: bool = True) -> None:
    shutil.move(tmp_path / PAM_FILE, hub.settings.agreements_dir / PAM_FILE)
    if reload:
        assert hub.pipeline.gatekeeper.refresh(force=True)


def test_the_state_says_what_needs_doing(hub: Hub, tmp_path: Path) -> None:
    # an item refused inside a processed set: the agency's receipt names it
    value, headers = sealed(hub.engine, change_set(PAM, [item(1), item(2, program="S311")]))
    assert _send(hub, 0, value, headers) == "PARTIAL"
    (refused_item,) = list_items(hub.engine)

    # a set refused while the agreement was out: nobody was told, the operator must act
    _without_pam(hub, tmp_path)
    value, headers = sealed(hub.engine, change_set(PAM, [item(3)]))
    _send(hub, 1, value, headers)
    unauthenticated = max(_states(hub))
    _pam_back(hub, tmp_path)

    # a set refused with a receipt (the agreement not in force yet): the agency was told
    gatekeeper = hub.pipeline.gatekeeper
    today = gatekeeper._today
    gatekeeper._today = dt.date(2025, 12, 1)
    late, late_headers = sealed(hub.engine, change_set(PAM, [item(4)]))
    assert _send(hub, 2, late, late_headers) == "REJECTED"
    gatekeeper._today = today
    not_in_force = max(_states(hub))

    assert _states(hub) == {
        refused_item.id: "INFORMADO",
        unauthenticated: "PENDIENTE",
        not_in_force: "INFORMADO",
    }
    code, out, err = _run(hub, "quarantine", "list", "--status", "PENDIENTE", "--json")
    assert code == 0, err
    assert [e["id"] for e in json.loads(out)] == [unauthenticated]  # the work queue

    # the agency's outbox sends the refused set again once the agreement is back: accepted, so
    # the entry needs nothing more; a further copy is a MENSAJE_REPETIDO, nothing to do either
    assert _send(hub, 3, value, headers) == "ACCEPTED"
    assert _send(hub, 4, value, headers) == "REPLAY"
    states = _states(hub)
    repeated = max(states)
    assert (states[unauthenticated], states[repeated]) == ("RESUELTO", "RESUELTO")
    code, out, err = _run(hub, "quarantine", "list", "--status", "PENDIENTE")
    assert code == 0 and out.strip() == "ninguna entrada de cuarentena con estado PENDIENTE."
    code, out, err = _run(hub, "quarantine", "list", "--status", "RESUELTO", "--json")
    assert sorted(e["id"] for e in json.loads(out)) == [unauthenticated, repeated]

    # the text list: a header naming the columns, the state in its column
    code, out, err = _run(hub, "quarantine", "list")
    lines = out.splitlines()
    assert lines[0].split() == [
        "entrada",
        "recibido",
        "(UTC)",
        "convenio",
        "motivo",
        "rechazado",
        "estado",
        "acuse",
    ]
    column = lines[0].index("estado")
    assert [line[column:].split()[0] for line in lines[1:]] == [
        states[i] for i in sorted(states, reverse=True)
    ]
    shown = _run(hub, "quarantine", "show", str(refused_item.id), "--purpose", "revisión")[1]
    assert re.search(r"^estado +INFORMADO \(la dependencia recibió el rechazo", shown, re.M)


def test_show_tells_a_replay_not_processed_from_one_refused_again_and_one_accepted(
    hub: Hub, tmp_path: Path
) -> None:
    _without_pam(hub, tmp_path)
    value, headers = sealed(hub.engine, change_set(PAM, [item(5)]))
    _send(hub, 10, value, headers)
    (first,) = [i.id for i in list_items(hub.engine)]
    _pam_back(hub, tmp_path, reload=False)  # the file is back; the running hub has not looked

    publisher = RecordingPublisher()
    _replay(hub, first, publisher)
    code, out, err = _run(hub, "quarantine", "show", str(first), "--purpose", "revisión")
    assert code == 0, err
    assert "el hub aún no procesa el reenvío" in out and f"replay {first} --again" in out
    assert _show(hub, first)["processed"] == {
        "requarantined_as": [],
        "processed": False,
        "outcome": None,
        "reason_code": None,
        "receipt": False,
    }

    # the hub reads the replay before reloading the agreement: refused again, a new entry
    (sent,) = publisher.records
    back = hub.pipeline.process(KafkaMessage(sent.topic, 0, 11, sent.value, sent.headers))
    assert back.reason_code == "CONVENIO_DESCONOCIDO"
    second = max(_states(hub))
    assert _states(hub) == {first: "REENVIADO", second: "PENDIENTE"}
    code, out, err = _run(hub, "quarantine", "show", str(first), "--purpose", "revisión")
    assert code == 0, err
    assert "aún no procesa" not in out
    assert f"rechazado de nuevo, sin acuse: el reenvío es la entrada {second} " in out
    assert f"(CONVENIO_DESCONOCIDO, PENDIENTE; {topic_of(PAM)}, partición 0, posición 11)" in out
    processed = _show(hub, first)["processed"]
    assert processed == {
        "requarantined_as": [second],
        "processed": True,
        "outcome": "REJECTED",
        "reason_code": "CONVENIO_DESCONOCIDO",
        "receipt": False,
        "topic": topic_of(PAM),
        "partition": 0,
        "offset": 11,
    }
    # replaying the first entry again (with or without --again) points to the new one
    for again in ([], ["--again"]):
        code, _, err = _run(
            hub, "quarantine", "replay", str(first), *again, "--yes", "--purpose", "reintento"
        )
        assert code == 1 and f"es la entrada {second}" in err, err
        assert f"sisi quarantine replay {second}" in err
    assert len(_replayed_entries(hub)) == 1

    # once the hub has the agreement, the new entry is replayed and accepted: both resolved
    assert hub.pipeline.gatekeeper.refresh(force=True)
    again = RecordingPublisher()
    _replay(hub, second, again)
    (sent,) = again.records
    assert hub.pipeline.process(KafkaMessage(sent.topic, 0, 12, sent.value, sent.headers)).status
    assert _states(hub) == {first: "RESUELTO", second: "RESUELTO"}
    code, out, err = _run(hub, "quarantine", "show", str(first), "--purpose", "revisión")
    assert f"ACCEPTED, con acuse a la dependencia ({topic_of(PAM)}, partición 0, posición 12)" in (
        out
    )
    assert f"el reenvío volvió a la cuarentena: entrada {second}" in out


def test_show_gives_the_decoded_set_and_a_read_of_one_person_says_one(
    hub: Hub, tmp_path: Path
) -> None:
    """A set of one item about a person the registry holds: the read names her twice (registry
    id and CURP digest) and says it showed one person."""
    person = item(7)
    value, headers = sealed(hub.engine, change_set(PAM, [person]))
    assert _send(hub, 20, value, headers) == "ACCEPTED"  # she is in the registry
    _without_pam(hub, tmp_path)
    changed = item(7)
    changed["reference_id"] = person["reference_id"]
    record = change_set(PAM, [changed])
    value, headers = sealed(hub.engine, record)
    _send(hub, 21, value, headers)
    _pam_back(hub, tmp_path)
    (entry,) = [i.id for i in list_items(hub.engine)]

    shown = _show(hub, entry)
    assert (shown["items"], shown["people"], shown["audit_people"]) == (1, 1, 2)
    decoded = shown["decoded"]
    assert isinstance(decoded, dict)
    assert decoded["message_id"] == record["message_id"] and decoded["item_count"] == 1
    assert _ISO_UTC.match(decoded["sent_at"]), decoded["sent_at"]
    (got,) = decoded["items"]
    assert got["reference_id"] == person["reference_id"]
    assert got["person"]["curp"] == person["person"]["curp"]
    for key in ("received_at",):
        assert _ISO_UTC.match(str(shown[key])), shown[key]
    code, out, err = _run(hub, "quarantine", "show", str(entry), "--purpose", "revisión")
    assert code == 0 and "(1 elemento, 1 persona)" in out, out
    assert "1 persona nombrada por 2 identificadores" in err, err

    code, out, err = _run(
        hub, "audit", "reads", person["person"]["curp"], "--purpose", "solicitud ARCO 7", "--json"
    )
    assert code == 0, err
    reads = [r for r in json.loads(out)["reads"] if r["subject"] == f"cuarentena:{entry}"]
    assert [r["people"] for r in reads] == [1, 1]
    code, out, err = _run(
        hub, "audit", "reads", person["person"]["curp"], "--purpose", "solicitud ARCO 7"
    )
    assert code == 0 and "(lista de 1 persona)" in out and "lista de 2 personas" not in out, out
    with hub.engine.connect() as conn:
        details = [
            json.loads(d)
            for d in conn.execute(
                text("select details from audit_log where action = 'PERSONAL_DATA_READ'")
            ).scalars()
        ]
    assert {d["shown"] for d in details if d["subject"] == f"cuarentena:{entry}"} == {"1"}


def test_list_json_times_carry_their_zone(hub: Hub, tmp_path: Path) -> None:
    _without_pam(hub, tmp_path)
    value, headers = sealed(hub.engine, change_set(PAM, [item(8)]))
    _send(hub, 30, value, headers)
    _pam_back(hub, tmp_path)
    (entry,) = [i.id for i in list_items(hub.engine)]
    _replay(hub, entry)
    code, out, err = _run(hub, "quarantine", "list", "--json")
    assert code == 0, err
    (listed,) = json.loads(out)
    assert _ISO_UTC.match(listed["received_at"]) and _ISO_UTC.match(listed["replayed_at"])
    shown = _show(hub, entry)
    assert _ISO_UTC.match(str(shown["received_at"])) and _ISO_UTC.match(str(shown["replayed_at"]))
    stored = get_item(hub.engine, entry).received_at
    moment = dt.datetime.fromisoformat(listed["received_at"].replace("Z", "+00:00"))
    naive = stored.astimezone(dt.UTC).replace(tzinfo=None) if stored.tzinfo else stored
    assert moment.replace(tzinfo=None) == naive


def test_an_unknown_reason_lists_the_valid_codes(hub: Hub, tmp_path: Path) -> None:
    value, headers = sealed(hub.engine, change_set(PAM, [item(9), item(10, program="S311")]))
    _send(hub, 40, value, headers)
    code, _, err = _run(hub, "quarantine", "list", "--reason", "NOEXISTE")
    assert code == 2 and "'NOEXISTE' no es un código de motivo del hub" in err
    assert "en la cuarentena hay ahora: PROGRAMA_FUERA_DE_CONVENIO (1)" in err
    for code_name in ("FIRMA_INVALIDA", "CONVENIO_DESCONOCIDO", "MENSAJE_REPETIDO", "CURP_LENGTH"):
        assert code_name in err, err


def test_replay_without_yes_and_no_terminal_is_refused_saying_what_to_add(
    hub: Hub, tmp_path: Path
) -> None:
    _without_pam(hub, tmp_path)
    value, headers = sealed(hub.engine, change_set(PAM, [item(11)]))
    _send(hub, 50, value, headers)
    _pam_back(hub, tmp_path)
    (entry,) = [i.id for i in list_items(hub.engine)]
    done = subprocess.run(
        [sys.executable, "-m", "hub.cli", "quarantine", "replay", str(entry), "--purpose",
         "convenio registrado de nuevo"],
        env={**os.environ, **_env(hub)}, stdin=subprocess.DEVNULL, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr  # a replay refused (README)
    assert "no es una terminal" in done.stderr and "añada --yes" in done.stderr, done.stderr
    assert "cancelado" not in done.stderr and "Traceback" not in done.stderr
    assert get_item(hub.engine, entry).status == "PENDIENTE" and _replayed_entries(hub) == []

    # an operator who answers no: refused the same way, nothing changes
    from hub.agreements.loader import AgreementSet
    from hub.audit.keys import load_or_create_hub_key
    from hub.audit.store import AuditLog

    publisher = RecordingPublisher()
    try:
        replay(
            hub.engine,
            AuditLog(hub.engine, load_or_create_hub_key(hub.settings)),
            AgreementSet(hub.settings.agreements_dir),
            entry,
            publisher,
            "ana",
            purpose="convenio registrado de nuevo",
            confirm=lambda _item: False,
            today=TODAY,
        )
    except ReplayRefusedError as exc:
        assert exc.exit_code == 1 and "no se confirmó" in exc.render() and "--yes" in exc.render()
    else:
        raise AssertionError("an unconfirmed replay was published")
    assert publisher.records == [] and _replayed_entries(hub) == []
