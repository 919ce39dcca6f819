"""``sisi quarantine replay`` against a running ``sisi hub`` on a real broker.

An agency rotates its key before the operator registers the new one: its set is refused without
a receipt (FIRMA_INVALIDA). The operator registers the key (the running hub reloads it) and two
operators replay the entry at the same time from two shells: one publishes, the other is told
so; the hub applies the items once, the agency gets one ACCEPTED receipt, the audit log one
QUARANTINE_REPLAYED entry with its purpose. The agency's outbox sending the same set again and a
third replay change nothing. The quarantine outlives the hub and the broker (it is in the
database; the embedded broker forgets its log).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from hub.agreements.keys import public_key_of
from hub.db import make_engine
from hub.gatekeeper.schemas import StoreSchemas
from hub.quarantine.store import list_items
from hub.settings import REPO_ROOT
from hub.topics import agreement_receipts
from tests.hub.gatekeeper.changesets import PAM, change_set, item, sealed, topic_of
from tests.hub.worker.running import SISI, HubProcess, ReceiptReader, publish
from tests.producers.test_key_rotation_end_to_end import _write_keys

PAM_FILE = "bienestar-pam.yaml"


def _sisi(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SISI), *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _wait(condition, limit: float, hub: HubProcess) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"no ocurrió a tiempo\n{hub.log_tail()}")
        time.sleep(0.5)


@pytest.mark.slow
def test_replays_from_two_shells_while_the_hub_runs_apply_once(
    fresh_broker, db_url: str, tmp_path: Path
) -> None:
    url = db_url
    folder = tmp_path / "convenios"
    shutil.copytree(REPO_ROOT / "agreements", folder)
    hub = HubProcess(fresh_broker, url, tmp_path)
    hub.env["SISI_AGREEMENTS_DIR"] = str(folder)
    env = {**hub.env}
    engine = make_engine(url)
    schemas = StoreSchemas(engine)
    rotated = Ed25519PrivateKey.generate()  # the agency's new key, not yet in the agreement
    record = change_set(PAM, [item(41), item(42)])
    value, headers = sealed(engine, record, key=rotated)
    reader = ReceiptReader(fresh_broker.bootstrap_servers, agreement_receipts(PAM), schemas)
    hub.start()
    try:
        publish(fresh_broker.bootstrap_servers, [(topic_of(PAM), value, headers)])
        found: list[int] = []

        def quarantined() -> bool:
            found[:] = [i.id for i in list_items(engine) if i.message_id == record["message_id"]]
            return bool(found)

        _wait(quarantined, 90, hub)
        (entry,) = found
        assert list_items(engine)[0].reason_code == "FIRMA_INVALIDA"

        # the cause is not fixed yet: said in Spanish, nothing changes
        done = _sisi(env, "quarantine", "replay", str(entry), "--yes", "--purpose", "clave nueva")
        assert done.returncode == 1, done.stderr
        assert "la firma no verifica" in done.stderr and "public_keys" in done.stderr
        assert "Traceback" not in done.stderr

        yesterday = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        overlap = f"    valid_until: {(yesterday + dt.timedelta(days=30)).date().isoformat()}\n"
        _write_keys(folder / PAM_FILE, overlap, public_key_of(rotated), yesterday)
        time.sleep(7)  # the running hub and every 'sisi' command read the edited file

        shells = [
            subprocess.Popen(
                [str(SISI), "quarantine", "replay", str(entry), "--yes", "--purpose", purpose],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for purpose in ("clave nueva registrada, oficio 7", "clave nueva registrada, oficio 8")
        ]
        results = [(s.wait(120), *s.communicate()) for s in shells]
        codes = sorted(code for code, _, _ in results)
        assert codes == [0, 1], results
        told = next(err for code, _, err in results if code == 1)
        assert "la reenvió otra operación" in told or "ya se reenvió" in told, told

        reader.wait_for({record["message_id"]}, hub, limit=90)
        mine = [r for r in reader.receipts if r["message_id"] == record["message_id"]]
        assert [(r["status"], r["accepted_count"]) for r in mine] == [("ACCEPTED", 2)]

        # the agency's outbox sends the same set again: the same receipt, nothing applied
        publish(fresh_broker.bootstrap_servers, [(topic_of(PAM), value, headers)])
        again = _sisi(env, "quarantine", "replay", str(entry), "--yes", "--purpose", "otra vez")
        assert again.returncode == 1 and "el hub lo procesó" in again.stderr, again.stderr

        def repeated() -> bool:
            reader.poll(0.5)
            return len([r for r in reader.receipts if r["message_id"] == record["message_id"]]) > 1

        _wait(repeated, 90, hub)
        mine = [r for r in reader.receipts if r["message_id"] == record["message_id"]]
        assert len({r["receipt_id"] for r in mine}) == 1 and {r["status"] for r in mine} == {
            "ACCEPTED"
        }

        with engine.connect() as conn:
            applied = conn.execute(
                text("select count(*) from applied_items where message_id = :m"),
                {"m": record["message_id"]},
            ).scalar_one()
            replays = conn.execute(
                text("select actor, purpose from audit_log where action = 'QUARANTINE_REPLAYED'")
            ).all()
            items = conn.execute(
                text(
                    "select count(*) from audit_log where message_id = :m "
                    "and action = 'ITEM_ACCEPTED'"
                ),
                {"m": record["message_id"]},
            ).scalar_one()
        assert applied == 2 and items == 2
        assert len(replays) == 1 and replays[0].purpose.startswith("clave nueva registrada")

        compliance = _sisi(env, "compliance", "--json")
        assert compliance.returncode == 0, compliance.stderr
        (row,) = [r for r in json.loads(compliance.stdout) if r["agreement_id"] == PAM]
        assert row["items_accepted"] == 2, row
        verify = _sisi(env, "audit", "verify")
        assert verify.returncode == 0, verify.stdout + verify.stderr
    finally:
        hub.stop()
        reader.close()

    # the hub stopped and the broker gone: the quarantine is in the database
    fresh_broker.stop()
    listed = _sisi({**env, "SISI_BOOTSTRAP_SERVERS": "127.0.0.1:1"}, "quarantine", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    documents = json.loads(listed.stdout)
    kept = {(e["id"], e["reason_code"], e["status"]) for e in documents}
    # replayed and accepted: nothing left to do (the stored replay claim says who replayed it)
    assert (entry, "FIRMA_INVALIDA", "RESUELTO") in kept
    assert {e["replayed_by"] for e in documents if e["id"] == entry} != {None}
    assert any(e[1:] == ("MENSAJE_REPETIDO", "RESUELTO") for e in kept)  # the outbox's copy
    engine.dispose()


@pytest.mark.slow
def test_a_replay_after_a_broker_restart_is_not_taken_for_the_refused_copy(
    fresh_broker, tmp_path: Path
) -> None:
    """The embedded broker restarts empty: the replay lands at the position where the refused
    copy was read (partition 0, offset 0 of a one-partition topic). Published once more, it gets
    in, once."""
    from hub.agreements.loader import AgreementSet
    from hub.broker import TopicSpec, ensure_topics, topics_for_agreements

    url = f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    folder = tmp_path / "convenios"
    shutil.copytree(REPO_ROOT / "agreements", folder)
    bootstrap = fresh_broker.bootstrap_servers

    def topics() -> None:
        ensure_topics(bootstrap, [TopicSpec(topic_of(PAM), 1)])  # one partition: offset 0 again
        ensure_topics(bootstrap, topics_for_agreements(AgreementSet(folder).ids))

    topics()
    hub = HubProcess(fresh_broker, url, tmp_path)
    hub.env["SISI_AGREEMENTS_DIR"] = str(folder)
    env = {**hub.env}
    engine = make_engine(url)
    rotated = Ed25519PrivateKey.generate()
    record = change_set(PAM, [item(51)])
    value, headers = sealed(engine, record, key=rotated)
    hub.start()
    try:
        publish(bootstrap, [(topic_of(PAM), value, headers)])
        found: list[int] = []

        def quarantined() -> bool:
            found[:] = [i.id for i in list_items(engine) if i.message_id == record["message_id"]]
            return bool(found)

        _wait(quarantined, 90, hub)
        (entry,) = found
        hub.stop()
        fresh_broker.restart()
        topics()
        yesterday = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        overlap = f"    valid_until: {(yesterday + dt.timedelta(days=30)).date().isoformat()}\n"
        _write_keys(folder / PAM_FILE, overlap, public_key_of(rotated), yesterday)
        hub.start()

        done = _sisi(env, "quarantine", "replay", str(entry), "--yes", "--purpose", "clave nueva")
        assert done.returncode == 0, done.stderr
        reader = ReceiptReader(bootstrap, agreement_receipts(PAM), StoreSchemas(engine))
        try:
            reader.wait_for({record["message_id"]}, hub, limit=120)
        finally:
            reader.close()
        with engine.connect() as conn:
            applied = conn.execute(
                text("select count(*) from applied_items where message_id = :m"),
                {"m": record["message_id"]},
            ).scalar_one()
        assert applied == 1
    finally:
        hub.stop()
        engine.dispose()
