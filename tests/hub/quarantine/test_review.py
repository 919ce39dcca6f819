"""The operator's review of the quarantine: who was shown, paging, filters, headers, replays.

Each test runs on SQLite and PostgreSQL (the ``hub`` fixture), through the real pipeline and the
real ``sisi`` commands (click's runner in this process).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, select, text

from hub.audit.keys import load_or_create_hub_key
from hub.audit.pseudonym import curp_digest
from hub.audit.store import audit_read_subjects
from hub.broker import EmbeddedBroker, TopicSpec, ensure_topics
from hub.cli.main import cli
from hub.errors import SisiError
from hub.quarantine import REFERENCE_HEADER, dead_letter_headers
from hub.quarantine.records import QuarantineEntry
from hub.quarantine.store import get_item, insert, list_items
from hub.topics import QUARANTINE
from hub.worker import KafkaMessage, RecordingPublisher
from tests.hub.gatekeeper.changesets import PAM, change_set, item, sealed, topic_of
from tests.hub.gatekeeper.fixtures import Hub
from tests.hub.quarantine.test_replay import _replay, _replayed_entries

PAM_FILE = "bienestar-pam.yaml"


def _run(hub: Hub, *args: str, bootstrap: str = "127.0.0.1:1") -> tuple[int, str, str]:
    env = {
        "SISI_DATABASE_URL": hub.settings.resolved_database_url(),
        "SISI_DATA_DIR": str(hub.settings.data_dir),
        "SISI_AGREEMENTS_DIR": str(hub.settings.agreements_dir),
        "SISI_BOOTSTRAP_SERVERS": bootstrap,  # never a broker someone else runs
    }
    result = CliRunner().invoke(cli, list(args), env=env)
    if isinstance(result.exception, SisiError):  # ``sisi`` renders these on stderr
        return result.exception.exit_code, result.stdout, result.exception.render()
    return result.exit_code, result.stdout, result.stderr


def _reads(hub: Hub) -> int:
    with hub.engine.connect() as conn:
        return int(
            conn.execute(
                text("select count(*) from audit_log where action = 'PERSONAL_DATA_READ'")
            ).scalar_one()
        )


def test_show_names_everyone_in_the_set_so_who_read_my_data_finds_it(hub: Hub) -> None:
    accepted, refused = item(11), item(12, program="S311")
    value, headers = sealed(hub.engine, change_set(PAM, [accepted, refused]))
    hub.pipeline.process(KafkaMessage(topic_of(PAM), 0, 0, value, tuple(headers)))
    (entry,) = list_items(hub.engine, reason_code="PROGRAMA_FUERA_DE_CONVENIO")

    code, out, err = _run(
        hub, "quarantine", "show", str(entry.id), "--purpose", "revisión de rechazo"
    )
    assert code == 0, out + err
    assert "2 elementos" in out and "2 personas nombradas por 3 identificadores" in err
    shown = json.loads(
        _run(
            hub, "quarantine", "show", str(entry.id), "--purpose", "revisión de rechazo", "--json"
        )[1]
    )
    assert shown["items"] == 2 and shown["audit_people"] == 3

    # the accepted person is in the registry: 'sisi audit reads' finds both shows by her id
    code, out, err = _run(
        hub,
        "audit",
        "reads",
        accepted["person"]["curp"],
        "--purpose",
        "solicitud ARCO 118",
        "--json",
    )
    assert code == 0, out + err
    reads = json.loads(out)["reads"]
    shows = [r for r in reads if r["subject"] == f"cuarentena:{entry.id}"]
    assert len(shows) == 2 and {r["purpose"] for r in shows} == {"revisión de rechazo"}

    # the refused person never entered the registry: she is named by her CURP's keyed digest
    key = load_or_create_hub_key(hub.settings)
    digest = "curp-hmac:" + curp_digest(key, refused["person"]["curp"])
    with hub.engine.connect() as conn:
        named = conn.execute(
            select(func.count()).where(audit_read_subjects.c.person_id == digest)
        ).scalar_one()
        stored = "\n".join(conn.execute(text("select details from audit_log")).scalars())
    assert named == 2
    for person in (accepted, refused):
        assert person["person"]["curp"] not in stored  # never in clear
    code, out, err = _run(hub, "audit", "verify")
    assert code == 0, out + err  # the people rows are under the chain


def test_show_refuses_a_purpose_that_says_nothing_or_holds_a_curp(hub: Hub) -> None:
    value, headers = sealed(hub.engine, change_set(PAM, [item(13, program="S311")]))
    hub.pipeline.process(KafkaMessage(topic_of(PAM), 0, 0, value, tuple(headers)))
    (entry,) = list_items(hub.engine)
    before = _reads(hub)
    for purpose in ("x", "revisión de " + item(13)["person"]["curp"]):
        code, out, err = _run(hub, "quarantine", "show", str(entry.id), "--purpose", purpose)
        assert code == 2 and "value_hex" not in out
        assert "no se registró ni se mostraron datos" in err
    assert _reads(hub) == before


def _fill(hub: Hub, n: int) -> list[int]:
    """``n`` quarantined messages of one entry each (the store the pipeline writes), ids."""
    now = dt.datetime.now(dt.UTC)
    with hub.engine.begin() as conn:
        for i in range(n):
            reason = "FIRMA_INVALIDA" if i % 3 else "CONVENIO_DESCONOCIDO"
            insert(
                conn,
                topic=topic_of(PAM),
                partition=0,
                offset=i,
                agreement_id=PAM,
                message_id=f"m-{i:05d}",
                value=b"\x00valor",
                headers=[("sisi-message-id", f"m-{i:05d}".encode())],
                received_at=now,
                entries=[QuarantineEntry(None, reason, "rechazo de prueba")],
            )
    return [i.id for i in list_items(hub.engine, limit=n)]


def test_list_pages_through_thousands_of_entries_without_losing_one(hub: Hub) -> None:
    ids = _fill(hub, 2500)
    assert len(ids) == 2500

    started = time.monotonic()
    code, out, err = _run(hub, "quarantine", "list")
    assert code == 0 and len(out.splitlines()) == 101  # the header, then 100 entries
    assert out.splitlines()[0].split()[:3] == ["entrada", "recibido", "(UTC)"]
    assert "100 entradas mostradas de 2500" in err and f"--before {ids[99]} --limit 100" in err
    assert time.monotonic() - started < 10

    seen: list[int] = []
    before: list[str] = []
    while True:
        code, out, err = _run(hub, "quarantine", "list", "--json", "--limit", "700", *before)
        assert code == 0, err
        page = [e["id"] for e in json.loads(out)]
        if not page:
            break
        seen += page
        before = ["--before", str(page[-1])]
    assert seen == ids  # newest first, each once

    code, out, err = _run(
        hub, "quarantine", "list", "--reason", "convenio_desconocido", "--limit", "5000"
    )
    assert code == 0 and len(out.splitlines()) == 1 + 834 and err == ""
    code, out, _ = _run(hub, "quarantine", "list", "--message", "m-00007", "--json")
    assert [e["message_id"] for e in json.loads(out)] == ["m-00007"]


def test_list_says_what_a_filter_found_and_refuses_an_unknown_reason(hub: Hub) -> None:
    code, out, _ = _run(hub, "quarantine", "list")
    assert code == 0 and out.strip() == "la cuarentena está vacía."
    _fill(hub, 3)
    code, out, err = _run(hub, "quarantine", "list", "--agreement", "CONV-OTRO")
    assert code == 2 and "el hub no tiene el convenio 'CONV-OTRO'" in err  # as the README says
    code, out, _ = _run(hub, "quarantine", "list", "--agreement", "CONV-CNBBBJ-BUEMS-2026")
    assert code == 0
    assert out.strip() == "ninguna entrada de cuarentena con convenio CONV-CNBBBJ-BUEMS-2026."
    code, out, err = _run(hub, "quarantine", "list", "--reason", "FIRMA_INVALIDAA")
    assert code == 2
    assert "'FIRMA_INVALIDAA' no es un código de motivo" in err and "FIRMA_INVALIDA" in err
    code, out, err = _run(hub, "quarantine", "show", "99999", "--purpose", "revisión de rechazo")
    assert code == 2 and "sisi quarantine list" in err


def test_dead_letter_headers_follow_kafka_connect_and_keep_the_bytes(hub: Hub) -> None:
    value, headers = sealed(hub.engine, change_set(PAM, [item(21), item(22, program="S311")]))
    hub.pipeline.process(KafkaMessage(topic_of(PAM), 3, 41, value, tuple(headers)))
    (dead,) = hub.published.on(QUARANTINE)
    got = dict(dead.headers)
    assert len(got) == len(dead.headers)  # each name once
    assert got["__connect.errors.topic"] == topic_of(PAM).encode()
    assert got["__connect.errors.partition"] == b"3"  # decimal text, as Connect writes it
    assert got["__connect.errors.offset"] == b"41"
    assert got["__connect.errors.connector.name"] == b"sisi-hub"
    assert got["__connect.errors.stage"] == b"TASK_PUT"
    assert got["__connect.errors.class.name"] == b"hub.gatekeeper.inspector.Gatekeeper"
    assert got["__connect.errors.exception.class.name"] == b"hub.gatekeeper.Rejection"
    assert "programa" in got["__connect.errors.exception.message"].decode()
    assert got["sisi-reason-code"] == b"PROGRAMA_FUERA_DE_CONVENIO"
    assert got[REFERENCE_HEADER] == b"R0000022"
    for name, raw in headers:  # the original headers come first, intact
        assert got[name] == raw
    (entry,) = list_items(hub.engine)
    stored = get_item(hub.engine, entry.id)
    assert stored.value == value and stored.headers == tuple(headers)

    # a dead letter sent back in does not carry two values of Connect's headers
    again = dead_letter_headers(
        dead.headers, "t", 0, 1, QuarantineEntry(None, "MENSAJE_ILEGIBLE", "m")
    )
    names = [name for name, _ in again]
    assert names.count("__connect.errors.topic") == 1
    assert dict(again)["__connect.errors.stage"] == b"VALUE_CONVERTER"


def _refused_while_removed(hub: Hub, tmp_path: Path, n: int) -> tuple[int, dict[str, object]]:
    directory = hub.settings.agreements_dir
    shutil.move(directory / PAM_FILE, tmp_path / PAM_FILE)
    assert hub.pipeline.gatekeeper.refresh(force=True)
    record = change_set(PAM, [item(n)])
    value, headers = sealed(hub.engine, record)
    hub.pipeline.process(KafkaMessage(topic_of(PAM), 0, 500 + n, value, tuple(headers)))
    shutil.move(tmp_path / PAM_FILE, directory / PAM_FILE)
    assert hub.pipeline.gatekeeper.refresh(force=True)
    (entry,) = [i for i in list_items(hub.engine) if i.message_id == record["message_id"]]
    return entry.id, record


def test_a_replay_needs_a_purpose_and_records_it(hub: Hub, tmp_path: Path) -> None:
    entry, _ = _refused_while_removed(hub, tmp_path, 31)
    curp = item(31)["person"]["curp"]
    for purpose in ("  ", "x", f"aclaración {curp}"):
        code, _, err = _run(hub, "quarantine", "replay", str(entry), "--yes", "--purpose", purpose)
        assert code == 2 and "finalidad" in err and "no se reenvió nada" in err
    assert get_item(hub.engine, entry).status == "PENDIENTE" and _replayed_entries(hub) == []

    _replay(hub, entry)
    with hub.engine.connect() as conn:
        (row,) = conn.execute(
            text("select actor, purpose from audit_log where action = 'QUARANTINE_REPLAYED'")
        ).all()
    assert (row.actor, row.purpose) == ("ana", "convenio registrado de nuevo")


def test_a_replay_the_broker_lost_is_published_again_and_applied_once(
    hub: Hub, tmp_path: Path
) -> None:
    entry, record = _refused_while_removed(hub, tmp_path, 32)
    first = RecordingPublisher()
    _replay(hub, entry, first)  # published... and the broker restarts before the hub reads it

    code, out, err = _run(hub, "quarantine", "show", str(entry), "--purpose", "revisión de reenvío")
    assert code == 0 and "el hub aún no procesa el reenvío" in out
    code, out, err = _run(hub, "quarantine", "list", "--message", str(record["message_id"]))
    assert out.splitlines()[-1].split()[-3:] == ["REENVIADO", "sin", "acuse"], out
    code, out, err = _run(
        hub, "quarantine", "replay", str(entry), "--yes", "--purpose", "reintento"
    )
    assert code == 1 and "aún no procesó el reenvío" in err and "--again" in err

    second = RecordingPublisher()
    _replay_again(hub, entry, second)
    assert [d.get("again") for d in _replayed_entries(hub)] == [None, "true"]
    # both copies arrive after all (the broker had kept the first): one is applied
    outcomes = [
        hub.pipeline.process(KafkaMessage(r.topic, 0, 900 + n, r.value, r.headers))
        for n, r in enumerate(first.records + second.records)
    ]
    assert [o.status for o in outcomes] == ["ACCEPTED", "REPLAY"]
    assert outcomes[1].receipt == outcomes[0].receipt  # the agency is told the same thing
    with hub.engine.connect() as conn:
        applied = conn.execute(
            text("select count(*) from applied_items where message_id = :m"),
            {"m": record["message_id"]},
        ).scalar_one()
    assert applied == 1

    code, out, err = _run(hub, "quarantine", "show", str(entry), "--purpose", "revisión de reenvío")
    assert code == 0 and "ACCEPTED, con acuse" in out
    code, out, err = _run(hub, "quarantine", "list", "--json")
    answered = [
        (e["reason_code"], e["answered"])
        for e in json.loads(out)
        if e["message_id"] == record["message_id"]
    ]  # the agency has its answer, and the copy that came back says so too
    assert sorted(answered) == [
        ("CONVENIO_DESCONOCIDO", "ACCEPTED"),
        ("MENSAJE_REPETIDO", "ACCEPTED"),
    ]
    code, out, err = _run(
        hub, "quarantine", "replay", str(entry), "--again", "--yes", "--purpose", "reintento"
    )
    assert code == 1 and "el hub lo procesó" in err and "ACCEPTED" in err
    assert len(_replayed_entries(hub)) == 2  # a refused replay records nothing


def _replay_again(hub: Hub, entry: int, publisher: RecordingPublisher) -> None:
    from hub.agreements.loader import AgreementSet
    from hub.audit.store import AuditLog
    from hub.quarantine.replay import replay
    from tests.hub.gatekeeper.fixtures import TODAY

    replay(
        hub.engine,
        AuditLog(hub.engine, load_or_create_hub_key(hub.settings)),
        AgreementSet(hub.settings.agreements_dir),
        entry,
        publisher,
        "beto",
        purpose="el broker se reinició",
        again=True,
        today=TODAY,
    )


def test_two_copies_of_one_refused_set_are_replayed_once(hub: Hub, tmp_path: Path) -> None:
    """The agency's outbox sent the set twice while it could not be authenticated: two entries.

    Replaying one marks the other (same agreement, message id and bytes) as replayed with it, and
    a copy quarantined later is refused while the first replay waits for the hub.
    """
    directory = hub.settings.agreements_dir
    record = change_set(PAM, [item(33)])
    value, headers = sealed(hub.engine, record)

    def refused_copy(offset: int) -> int:
        shutil.move(directory / PAM_FILE, tmp_path / PAM_FILE)
        assert hub.pipeline.gatekeeper.refresh(force=True)
        hub.pipeline.process(KafkaMessage(topic_of(PAM), 0, offset, value, tuple(headers)))
        shutil.move(tmp_path / PAM_FILE, directory / PAM_FILE)
        assert hub.pipeline.gatekeeper.refresh(force=True)
        return max(i.id for i in list_items(hub.engine))

    first, second = refused_copy(700), refused_copy(701)
    publisher = RecordingPublisher()
    _replay(hub, second, publisher)
    assert [get_item(hub.engine, e).status for e in (first, second)] == ["REENVIADO"] * 2
    code, _, err = _run(hub, "quarantine", "replay", str(first), "--yes", "--purpose", "copia")
    assert code == 1 and "ya se reenvió" in err

    third = refused_copy(702)  # sent again before the hub read the replay
    code, _, err = _run(hub, "quarantine", "replay", str(third), "--yes", "--purpose", "copia")
    assert code == 1 and f"entradas {first}, {second} en REENVIADO" in err, err
    assert f"replay {first} --again" in err
    assert get_item(hub.engine, third).status == "PENDIENTE"
    assert len(publisher.records) == 1 and len(_replayed_entries(hub)) == 1

    outcome = hub.pipeline.process(KafkaMessage(topic_of(PAM), 0, 703, value, tuple(headers)))
    assert outcome.status == "ACCEPTED"  # the replay arrives: now every copy is answered
    code, _, err = _run(hub, "quarantine", "replay", str(third), "--yes", "--purpose", "copia")
    assert code == 1 and "ya se procesó" in err


def test_two_copies_replayed_at_once_publish_once(hub: Hub, tmp_path: Path) -> None:
    import threading

    from hub.quarantine.replay import ReplayRefusedError

    directory = hub.settings.agreements_dir
    shutil.move(directory / PAM_FILE, tmp_path / PAM_FILE)
    assert hub.pipeline.gatekeeper.refresh(force=True)
    value, headers = sealed(hub.engine, change_set(PAM, [item(34)]))
    for offset in (800, 801, 802):
        hub.pipeline.process(KafkaMessage(topic_of(PAM), 0, offset, value, tuple(headers)))
    shutil.move(tmp_path / PAM_FILE, directory / PAM_FILE)
    assert hub.pipeline.gatekeeper.refresh(force=True)
    copies = sorted(i.id for i in list_items(hub.engine))
    for _ in range(5):
        publisher = RecordingPublisher()
        barrier = threading.Barrier(len(copies))
        results: list[object] = []

        def run(
            entry: int,
            actor: str,
            barrier: threading.Barrier = barrier,
            publisher: RecordingPublisher = publisher,
            results: list[object] = results,
        ) -> None:
            barrier.wait()
            try:
                results.append(_replay(hub, entry, publisher, actor))
            except ReplayRefusedError as exc:
                results.append(exc)

        threads = [
            threading.Thread(target=run, args=(entry, f"op{n}")) for n, entry in enumerate(copies)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        refused = [r for r in results if isinstance(r, ReplayRefusedError)]
        assert len(results) == 3 and len(refused) == 2, results
        assert len(publisher.records) == 1
        assert {get_item(hub.engine, e).status for e in copies} == {"REENVIADO"}
        with hub.engine.begin() as conn:  # as if never replayed, for the next round
            conn.execute(
                text(
                    "update quarantine_messages set status = 'PENDIENTE', replayed_at = null, "
                    "replayed_by = null"
                )
            )
    assert len(_replayed_entries(hub)) == 5


def test_a_replay_that_came_back_refused_can_be_replayed_once_fixed(
    hub: Hub, tmp_path: Path
) -> None:
    """The operator put the agreement back and replayed before the hub reloaded it: the replay
    is refused again (a new entry); once the hub has the agreement, that entry is replayed."""
    directory = hub.settings.agreements_dir
    shutil.move(directory / PAM_FILE, tmp_path / PAM_FILE)
    assert hub.pipeline.gatekeeper.refresh(force=True)
    record = change_set(PAM, [item(35)])
    value, headers = sealed(hub.engine, record)
    hub.pipeline.process(KafkaMessage(topic_of(PAM), 0, 950, value, tuple(headers)))
    (first,) = [i.id for i in list_items(hub.engine)]
    shutil.move(tmp_path / PAM_FILE, directory / PAM_FILE)  # the hub has not looked yet

    publisher = RecordingPublisher()
    _replay(hub, first, publisher)
    (sent,) = publisher.records
    back = hub.pipeline.process(KafkaMessage(sent.topic, 0, 951, sent.value, sent.headers))
    assert back.reason_code == "CONVENIO_DESCONOCIDO"
    second = max(i.id for i in list_items(hub.engine))

    assert hub.pipeline.gatekeeper.refresh(force=True)
    again = RecordingPublisher()
    _replay(hub, second, again)
    (sent,) = again.records
    done = hub.pipeline.process(KafkaMessage(sent.topic, 0, 952, sent.value, sent.headers))
    assert done.status == "ACCEPTED"
    _, out, _ = _run(hub, "quarantine", "list", "--message", str(record["message_id"]))
    # the set was accepted: nothing left to do for either entry
    rows = [line.split()[-3:] for line in out.splitlines()[1:]]
    assert rows == [["RESUELTO", "acuse", "ACCEPTED"]] * 2, out
    assert dict(sent.headers)["sisi-replay-of"] == str(second).encode()
    assert get_item(hub.engine, first).value == sent.value


class _LandingPublisher(RecordingPublisher):
    """Records, and says each landed at ``position`` (then the next offsets), as a broker that
    restarted empty would."""

    def __init__(self, topic: str, partition: int, offset: int) -> None:
        super().__init__()
        self.delivered: list[tuple[str, int, int]] = []
        self._next = (topic, partition, offset)

    def flush(self) -> None:
        while len(self.delivered) < len(self.records):
            self.delivered.append(self._next)
            topic, partition, offset = self._next
            self._next = (topic, partition, offset + 1)


def test_a_replay_landing_at_the_original_position_is_published_once_more(
    hub: Hub, tmp_path: Path
) -> None:
    """The embedded broker restarts and hands out its offsets again: a replay landing where the
    refused copy was is taken by the hub for a redelivery of it (its position key), so the
    replay publishes once more; the second copy gets in, once."""
    entry, record = _refused_while_removed(hub, tmp_path, 36)
    original = get_item(hub.engine, entry)
    publisher = _LandingPublisher(original.topic, original.partition, original.offset)
    _replay(hub, entry, publisher)
    assert publisher.delivered == [
        (original.topic, original.partition, original.offset),
        (original.topic, original.partition, original.offset + 1),
    ]
    outcomes = [
        hub.pipeline.process(KafkaMessage(topic, partition, offset, r.value, r.headers))
        for (topic, partition, offset), r in zip(
            publisher.delivered, publisher.records, strict=True
        )
    ]
    assert [o.kind for o in outcomes] == ["redelivery", "processed"]
    assert outcomes[1].status == "ACCEPTED"
    _, out, _ = _run(hub, "quarantine", "list", "--message", str(record["message_id"]))
    assert out.rstrip().endswith("acuse ACCEPTED")
    assert len(_replayed_entries(hub)) == 1


def test_a_lost_replay_at_the_original_position_is_recovered_with_again(
    hub: Hub, tmp_path: Path
) -> None:
    """A publisher that cannot say where its records landed (the risk above unseen): the entry
    stays 'sin acuse' and --again publishes anew, at a later offset."""
    entry, record = _refused_while_removed(hub, tmp_path, 37)
    original = get_item(hub.engine, entry)
    publisher = RecordingPublisher()
    _replay(hub, entry, publisher)
    (sent,) = publisher.records
    swallowed = hub.pipeline.process(
        KafkaMessage(sent.topic, original.partition, original.offset, sent.value, sent.headers)
    )
    assert swallowed.kind == "redelivery"
    _, out, _ = _run(hub, "quarantine", "list", "--message", str(record["message_id"]))
    assert out.rstrip().endswith("sin acuse")  # the operator sees it was not answered

    again = RecordingPublisher()
    _replay_again(hub, entry, again)
    (sent,) = again.records
    done = hub.pipeline.process(
        KafkaMessage(sent.topic, original.partition, original.offset + 1, sent.value, sent.headers)
    )
    assert done.status == "ACCEPTED"


def test_a_replay_landing_where_another_copy_was_read_is_published_once_more(
    hub: Hub, tmp_path: Path
) -> None:
    entry, _ = _refused_while_removed(hub, tmp_path, 38)
    original = get_item(hub.engine, entry)
    directory = hub.settings.agreements_dir
    shutil.move(directory / PAM_FILE, tmp_path / PAM_FILE)  # the outbox's copy, refused too
    assert hub.pipeline.gatekeeper.refresh(force=True)
    hub.pipeline.process(
        KafkaMessage(original.topic, 2, 7, original.value or b"", original.headers)
    )
    shutil.move(tmp_path / PAM_FILE, directory / PAM_FILE)
    assert hub.pipeline.gatekeeper.refresh(force=True)

    publisher = _LandingPublisher(original.topic, 2, 7)
    _replay(hub, entry, publisher)
    assert [p[2] for p in publisher.delivered] == [7, 8]
    outcomes = [
        hub.pipeline.process(KafkaMessage(topic, partition, offset, r.value, r.headers))
        for (topic, partition, offset), r in zip(
            publisher.delivered, publisher.records, strict=True
        )
    ]
    assert [(o.kind, o.status) for o in outcomes] == [
        ("redelivery", "REJECTED"),
        ("processed", "ACCEPTED"),
    ]


def test_replay_judges_with_the_agreements_the_hub_has_in_force(
    hub: Hub, tmp_path: Path, fresh_broker: EmbeddedBroker
) -> None:
    """A file broken after the hub loaded it keeps its last good version in force in the hub;
    'sisi quarantine replay' judges with that version too, not only with the files."""
    from hub.worker.changes import record_agreement_changes

    entry, _ = _refused_while_removed(hub, tmp_path, 40)
    record_agreement_changes(hub.engine, hub.pipeline.audit, hub.pipeline.gatekeeper.agreements)
    path = hub.settings.agreements_dir / PAM_FILE
    path.write_text(path.read_text(encoding="utf-8") + "\nprograms: [roto\n", encoding="utf-8")
    ensure_topics(fresh_broker.bootstrap_servers, [TopicSpec(topic_of(PAM), 1)])
    env = dict(
        os.environ,
        SISI_DATABASE_URL=hub.settings.resolved_database_url(),
        SISI_DATA_DIR=str(hub.settings.data_dir),
        SISI_AGREEMENTS_DIR=str(hub.settings.agreements_dir),
        SISI_BOOTSTRAP_SERVERS=fresh_broker.bootstrap_servers,
    )
    done = subprocess.run(  # a process of its own: no agreement this one loaded before
        [
            sys.executable,
            "-m",
            "hub.cli",
            "quarantine",
            "replay",
            str(entry),
            "--yes",
            "--purpose",
            "convenio de vuelta",
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and "reenviado: entrada" in done.stdout, done.stderr
    assert get_item(hub.engine, entry).status == "REENVIADO"


def test_list_shows_no_personal_data(hub: Hub) -> None:
    """'list' is not an audited read: no folio that is a CURP, no detail quoting the item's data;
    'show' (audited) gives them."""
    folio_is_curp = item(61, program="S311")
    curp = folio_is_curp["person"]["curp"]
    folio_is_curp["reference_id"] = curp
    malformed = item(62)
    bad = malformed["person"]["curp"][:17]
    malformed["person"]["curp"] = bad  # CURP_LENGTH quotes it
    value, headers = sealed(hub.engine, change_set(PAM, [folio_is_curp, malformed]))
    hub.pipeline.process(KafkaMessage(topic_of(PAM), 0, 0, value, tuple(headers)))

    for args in (("quarantine", "list"), ("quarantine", "list", "--json")):
        code, out, err = _run(hub, *args)
        assert code == 0, err
        assert curp not in out and bad not in out, out
        assert "curp-hmac:" in out
    listed = json.loads(_run(hub, "quarantine", "list", "--json")[1])
    assert {e["reason_code"] for e in listed} == {"PROGRAMA_FUERA_DE_CONVENIO", "CURP_LENGTH"}
    assert all("message" not in e for e in listed)

    shown = [
        json.loads(
            _run(hub, "quarantine", "show", str(e["id"]), "--purpose", "revisión", "--json")[1]
        )
        for e in listed
    ]
    assert {s["reference_id"] for s in shown} == {curp, malformed["reference_id"]}
    assert any(bad in s["message"] for s in shown)
