"""``sisi compliance`` after a restart lists an agreement whose file broke: it is still in force
(the hub keeps its stored last good version), so its figures are still the operator's concern."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from hub.agreements import loader
from hub.cli.main import cli
from hub.worker.changes import record_agreement_changes
from tests.hub.gatekeeper.changesets import PAM
from tests.hub.gatekeeper.fixtures import Hub


def test_an_agreement_whose_file_broke_is_still_listed(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_agreement_changes(hub.engine, hub.pipeline.audit, hub.pipeline.gatekeeper.agreements)
    path = next(hub.settings.agreements_dir.glob("bienestar-pam.yaml"))
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"(?m)^status: \w+$", "status: quizás", text), encoding="utf-8")
    monkeypatch.setattr(loader, "_LAST_GOOD", {})  # a new process: nothing seen before
    env = {
        "SISI_DATABASE_URL": hub.settings.database_url.get_secret_value(),
        "SISI_AGREEMENTS_DIR": str(hub.settings.agreements_dir),
        "SISI_DATA_DIR": str(hub.settings.data_dir),
    }
    result = CliRunner().invoke(cli, ["compliance", "--json"], env=env)
    assert result.exit_code == 0, result.output
    listed = {row["agreement_id"] for row in json.loads(result.stdout)}
    assert PAM in listed
