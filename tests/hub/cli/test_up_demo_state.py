"""``sisi up``'s start: where the demo goes on, what --reset removes, ports refused up front."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from hub.agreements import load_agreements
from hub.broker import find_free_port
from hub.cli.demo_agencies import STATE_FILE, DemoAgency, last_delivery, payment_month
from hub.cli.local_state import previous_data, remove_previous_data
from hub.cli.up import _demo_agencies, check_ports
from hub.errors import ConfigurationError
from hub.settings import REPO_ROOT
from producers.synth.padron import generate_padron

PAM = "CONV-BIENESTAR-PAM-2026"


@pytest.fixture(scope="module")
def agreements():
    return load_agreements(REPO_ROOT / "agreements")


@pytest.mark.parametrize("today", [date(2026, 11, 24), date(2026, 12, 1), date(2027, 1, 1)])
def test_the_period_sent_is_the_month_of_every_synthetic_payment(agreements, today) -> None:
    """``sisi produce --period`` pays only rows dated in its month: all of them must be."""
    for agreement in agreements:
        if agreement.kind != "padron":
            continue
        period = payment_month(agreement, today)
        rows = generate_padron(agreement, 60, 3, delivery=2, today=today, recent=True)
        months = {f"{r.values['fecha_beneficio']:%Y-%m}" for r in rows}
        assert months == {period}, agreement.id
    yesterday = today - timedelta(days=1)
    assert payment_month(agreements.get(PAM), today) == f"{yesterday:%Y-%m}"


def _state(workdir: Path, delivered: int, people: int = 300) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / STATE_FILE).write_text(json.dumps({"entrega": delivered, "personas": people}))


def test_the_demo_goes_on_after_the_last_delivery_its_snapshot_holds(tmp_path: Path) -> None:
    workdir, snapshot = tmp_path / "demo" / PAM, tmp_path / "producer" / f"{PAM}.sqlite3"
    assert last_delivery(workdir, snapshot) == (0, None)  # nothing at all
    for name in ("entrega-001.txt", "entrega-002.txt", "entrega-002.txt.rechazos.csv"):
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / name).write_text("x")
    # files without the agency's snapshot were never delivered: start again at 1
    assert last_delivery(workdir, snapshot) == (0, None)
    snapshot.parent.mkdir()
    snapshot.write_bytes(b"")
    # a directory from before estado.json: its highest delivery file
    assert last_delivery(workdir, snapshot) == (2, None)
    # the state wins over a file made but never sent (a run stopped between synth and produce)
    (workdir / "entrega-003.txt").write_text("x")
    _state(workdir, 2, 500)
    assert last_delivery(workdir, snapshot) == (2, 500)
    (workdir / STATE_FILE).write_text("{roto")
    assert last_delivery(workdir, snapshot) == (3, None)


def test_a_delivery_is_recorded_only_once_the_agencys_snapshot_holds_it(
    agreements, tmp_path: Path
) -> None:
    agency = DemoAgency(agreements.get(PAM), tmp_path / PAM, 300, delivered=4)
    assert agency.next_delivery == 5
    assert agency.path(5).name == "entrega-005.txt"
    agency._record(5)
    state = json.loads((tmp_path / PAM / STATE_FILE).read_text())
    assert (state["entrega"], state["personas"], state["archivo"]) == (5, 300, "entrega-005.txt")
    assert agency.next_delivery == 6


def test_the_padron_size_of_the_previous_run_is_kept(agreements, tmp_path: Path) -> None:
    snapshot = tmp_path / "producer" / f"{PAM}.sqlite3"
    snapshot.parent.mkdir()
    snapshot.write_bytes(b"")
    _state(tmp_path / "demo" / PAM, 3, people=300)
    agencies, kept = _demo_agencies(list(agreements), tmp_path, None)
    pam = next(a for a in agencies if a.agreement_id == PAM)
    assert (pam.next_delivery, pam.people, kept) == (4, 300, None)  # no option: no warning
    others = [a for a in agencies if a.agreement_id != PAM]
    assert len(others) == 3 and all(a.next_delivery == 1 and a.people == 2000 for a in others)
    agencies, kept = _demo_agencies(list(agreements), tmp_path, 5000)
    pam = next(a for a in agencies if a.agreement_id == PAM)
    assert (pam.people, kept) == (300, 300)  # another size asked for: kept, and said


def test_reset_removes_the_runs_data_and_keeps_the_hub_key(tmp_path: Path) -> None:
    for name in ("demo/CONV-X/entrega-001.csv", "producer/CONV-X.sqlite3", "faust/v1/t"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    for name in ("registry.sqlite3", "registry.sqlite3-wal", "broker.log"):
        (tmp_path / name).write_text("x")
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "hub.key").write_text("clave")
    (tmp_path / "otro.txt").write_text("del usuario")
    found = previous_data(tmp_path)
    own = f"sqlite:///{(tmp_path / 'registry.sqlite3').resolve()}"
    with pytest.raises(ConfigurationError, match="no está en"):
        remove_previous_data(tmp_path, database_url="postgresql://u:secreto@db/sisi")
    assert previous_data(tmp_path) == found  # nothing removed
    assert remove_previous_data(tmp_path, database_url=own) == found
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keys", "otro.txt"]
    assert (tmp_path / "keys" / "hub.key").read_text() == "clave"
    assert previous_data(tmp_path) == []


def test_ports_in_use_are_refused_before_anything_starts() -> None:
    free = [find_free_port() for _ in range(3)]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        with pytest.raises(ConfigurationError) as caught:
            check_ports(broker_port=free[0], registry_port=free[1], metrics_port=busy,
                        workers=1, metrics_host="127.0.0.1")  # fmt: skip
        text = caught.value.render()
        assert f"127.0.0.1:{busy} (métricas del trabajador 0): ya está en uso" in text
        assert "--metrics-port" in text
        # the second worker's port is the taken one
        with pytest.raises(ConfigurationError, match="métricas del trabajador 1"):
            check_ports(broker_port=free[0], registry_port=free[1], metrics_port=busy - 1,
                        workers=2, metrics_host="127.0.0.1")  # fmt: skip
        with pytest.raises(ConfigurationError, match=r"registro de esquemas\): ya está en uso"):
            check_ports(broker_port=free[0], registry_port=busy, metrics_port=free[2],
                        workers=1, metrics_host="127.0.0.1")  # fmt: skip
    with pytest.raises(ConfigurationError, match="se pidió para broker y para"):
        check_ports(broker_port=free[0], registry_port=free[1], metrics_port=free[0],
                    workers=1, metrics_host="127.0.0.1")  # fmt: skip
    check_ports(broker_port=free[0], registry_port=free[1], metrics_port=free[2], workers=1,
                metrics_host="127.0.0.1")  # fmt: skip


def _sisi_up(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, SISI_DATA_DIR=str(tmp_path))
    env.pop("SISI_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", "up", *args],
        env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_sisi_up_refuses_a_metrics_port_in_use_and_starts_nothing(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        started = time.monotonic()
        done = _sisi_up(tmp_path, "--port", str(find_free_port()), "--registry-port",
                        str(find_free_port()), "--metrics-port", str(busy))  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"127.0.0.1:{busy} (métricas del trabajador 0): ya está en uso" in done.stderr
    assert "SISI en marcha" not in done.stdout
    assert time.monotonic() - started < 30
    assert not (tmp_path / "broker.log").exists()  # the broker never started


def test_reset_without_a_terminal_asks_for_yes_and_removes_nothing(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "estado.json").write_text("{}")
    done = _sisi_up(tmp_path, "--demo", "--reset", "--port", str(find_free_port()),
                    "--registry-port", str(find_free_port()),
                    "--metrics-port", str(find_free_port()))  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "agregue --yes" in done.stderr
    assert (tmp_path / "demo" / "estado.json").exists()
    assert "SISI en marcha" not in done.stdout
