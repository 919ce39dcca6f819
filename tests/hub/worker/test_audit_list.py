"""``sisi audit list`` shows agreement and contract changes as an operator reads them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from hub.worker.changes import record_at_start
from tests.hub.gatekeeper.changesets import PAM, SUBJECT
from tests.hub.gatekeeper.fixtures import Hub

SISI = str(Path(sys.executable).parent / "sisi")


def _sisi(hub: Hub, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "SISI_DATABASE_URL": hub.engine.url.render_as_string(hide_password=False),
        "SISI_DATA_DIR": str(hub.settings.data_dir),
    }
    return subprocess.run(
        [SISI, "audit", *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_list_shows_agreement_and_contract_changes(hub: Hub) -> None:
    pipeline = hub.pipeline
    record_at_start(pipeline.engine, pipeline.audit, pipeline.gatekeeper.agreements)

    agreements = _sisi(hub, "list", "--action", "agreement_changed", "--agreement", PAM)
    assert agreements.returncode == 0, agreements.stderr
    (line,) = agreements.stdout.splitlines()
    assert "sisi-hub/convenios  AGREEMENT_CHANGED  CONV-BIENESTAR-PAM-2026  alta de " in line
    assert "bienestar-pam.yaml, estado vigente, vigencia 2026-01-01 a 2030-12-31" in line

    contracts = _sisi(hub, "list", "--action", "CONTRACT_REGISTERED", "--limit", "100")
    assert f"{SUBJECT} versión 2 (id " in contracts.stdout
    document = json.loads(_sisi(hub, "list", "--limit", "3", "--json").stdout)
    assert [entry["action"] for entry in document] == ["AGREEMENT_CHANGED"] * 3
    assert document[-1]["signed"] is True  # the end of the start-up batch
    assert document[0]["sequence"] < document[1]["sequence"] < document[2]["sequence"]
    assert {"change", "file", "sha256"} <= set(document[0]["details"])

    verify = _sisi(hub, "verify")
    assert verify.returncode == 0 and "bitácora íntegra" in verify.stdout
    empty = _sisi(hub, "list", "--agreement", "CONV-NINGUNO")
    assert empty.returncode == 0 and "no hay entradas" in empty.stdout
