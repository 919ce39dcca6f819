"""A periodic agreement's next delivery is due one period (plus its lag) after the last one."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from click.testing import CliRunner

from hub.agreements.loader import AgreementSet
from hub.agreements.model import KEY_DATE_ZONE
from hub.cli.main import cli
from hub.compliance.cadence import delivery_due, overdue
from hub.settings import REPO_ROOT
from tests.hub.gatekeeper.changesets import PAM
from tests.hub.gatekeeper.fixtures import EXPIRED, Hub

UTC = dt.UTC


def _pam() -> Any:
    return AgreementSet(REPO_ROOT / "agreements").get(PAM)


def test_the_next_delivery_is_due_a_period_and_the_lag_after_the_last() -> None:
    pam = _pam()  # bimestral, 240 h
    assert (pam.delivery.period, pam.delivery.max_lag_hours) == ("bimestral", 240)
    last = dt.datetime(2026, 3, 1, 12, tzinfo=UTC)
    due = delivery_due(pam, last)
    assert due == last + dt.timedelta(days=62 + 10)
    assert overdue(pam, last, due) is False
    assert overdue(pam, last, due + dt.timedelta(seconds=1)) is True
    # before any delivery: from the day it came into force (00:00 central Mexico time)
    start = dt.datetime.combine(pam.valid_from, dt.time(6), UTC)
    assert delivery_due(pam, None) == start + dt.timedelta(days=72)


def test_no_cadence_for_an_agreement_not_in_force(hub: Hub) -> None:
    leon = AgreementSet(hub.settings.agreements_dir).get(EXPIRED)  # expired on 2026-05-31
    assert overdue(leon, None, dt.datetime(2026, 11, 1, tzinfo=UTC)) is None


def test_sisi_compliance_says_when_a_delivery_is_overdue(hub: Hub, monkeypatch: Any) -> None:
    monkeypatch.setenv("SISI_DATABASE_URL", hub.settings.resolved_database_url())
    monkeypatch.setenv("SISI_AGREEMENTS_DIR", str(hub.settings.agreements_dir))
    result = CliRunner().invoke(cli, ["compliance"])
    assert result.exit_code == 0, result.output
    due = delivery_due(_pam(), None)
    assert due is not None and due < dt.datetime.now(UTC)  # PAM never delivered
    line = next(
        line for line in result.output.split(f"{PAM}\n")[1].splitlines() if "sin entregas" in line
    )
    assert line == (
        f"  sin entregas aún ✗ (entrega bimestral: la primera debía llegar a más tardar el"
        f" {due.astimezone(KEY_DATE_ZONE).date().isoformat()})"
    )
    assert result.output.splitlines()[-1].startswith("✗: fuera de lo que fija el convenio")
    listed = json.loads(CliRunner().invoke(cli, ["compliance", "--json"]).output)
    by_id = {row["agreement_id"]: row for row in listed}
    assert by_id[PAM]["delivery_overdue"] is True
    assert by_id[EXPIRED]["delivery_overdue"] is None and by_id[EXPIRED]["in_force"] is False
