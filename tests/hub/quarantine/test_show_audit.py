"""``sisi quarantine show``: the read is audited under its agreement, and says where it went."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from click.testing import CliRunner

from hub.cli.main import cli
from hub.worker import KafkaMessage
from tests.hub.gatekeeper.changesets import PAM, change_set, item, sealed, topic_of
from tests.hub.gatekeeper.fixtures import Hub


def _run(hub: Hub, *args: str) -> tuple[int, str, str]:
    env = {
        "SISI_DATABASE_URL": hub.settings.resolved_database_url(),
        "SISI_DATA_DIR": str(hub.settings.data_dir),
        "SISI_AGREEMENTS_DIR": str(hub.settings.agreements_dir),
    }
    result = CliRunner().invoke(cli, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_a_quarantine_read_is_found_by_agreement_and_every_read_is_recorded(hub: Hub) -> None:
    value, headers = sealed(hub.engine, change_set(PAM, [item(1), item(2, program="S311")]))
    hub.pipeline.process(KafkaMessage(topic_of(PAM), 0, 0, value, tuple(headers)))
    code, out, _ = _run(hub, "quarantine", "list", "--json")
    assert code == 0, out
    entry = json.loads(out)[0]["id"]

    code, out, err = _run(hub, "quarantine", "show", str(entry), "--purpose", "revisión")
    assert code == 0, out + err
    # the time zone is said, as 'list' does
    assert re.search(r"^recibido +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$", out, re.M), out
    first = re.search(r"consulta registrada en la bitácora \(entrada (\d+)[,:)]", err)
    assert first, err
    code, out, err = _run(hub, "quarantine", "show", str(entry), "--purpose", "revisión", "--json")
    assert code == 0, out + err
    second = json.loads(out)["audit_sequence"]
    assert second > int(first[1])  # a second read of the same entry is recorded too

    code, out, _ = _run(
        hub, "audit", "list", "--action", "PERSONAL_DATA_READ", "--agreement", PAM, "--json"
    )
    assert code == 0, out
    found = json.loads(out)
    assert [e["sequence"] for e in found] == [int(first[1]), second]
    for e in found:
        assert e["agreement_id"] == PAM and e["purpose"] == "revisión"
        assert e["details"]["subject"] == f"cuarentena:{entry}"
        assert e["message_id"] is None  # no idempotency key: each read is its own entry
    code, out, _ = _run(
        hub, "audit", "list", "--action", "PERSONAL_DATA_READ", "--agreement", "CONV-OTRO",
        "--json",
    )  # fmt: skip
    assert code == 0 and json.loads(out) == []

    code, out, err = _run(hub, "audit", "verify")
    assert code == 0, out + err


def test_an_id_or_curp_that_names_nothing_exits_2_as_the_readme_says(hub: Hub) -> None:
    env = dict(
        os.environ,
        SISI_DATABASE_URL=hub.settings.resolved_database_url(),
        SISI_DATA_DIR=str(hub.settings.data_dir),
        SISI_AGREEMENTS_DIR=str(hub.settings.agreements_dir),
    )
    curp = item(1)["person"]["curp"]  # valid, never delivered
    for args, said in (
        (["quarantine", "show", "999", "--purpose", "revisión"], "no hay una entrada"),
        (["quarantine", "replay", "999", "--yes", "--purpose", "revisión"], "no hay una entrada"),
        (["registry", "person", curp, "--purpose", "revisión"], "no hay en el registro"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "hub.cli", *args],
            env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 2, (args, done.stdout + done.stderr)
        assert said in done.stderr and "Traceback" not in done.stderr, done.stderr
