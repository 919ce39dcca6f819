"""``sisi up --demo``, the README's main command, run as a user runs it: a real subprocess."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hub.broker import find_free_port
from hub.db import make_engine
from hub.registry import stats

pytestmark = [pytest.mark.broker, pytest.mark.slow]

PADRON_AGREEMENTS = (
    "CONV-BIENESTAR-PAM-2026",
    "CONV-CNBBBJ-BUEMS-2026",
    "CONV-EDOMEX-MCB-2026",
    "CONV-LEON-JEFAS-2026",
)


def _env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ, SISI_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1")
    env.pop("SISI_DATABASE_URL", None)
    return env


def _start(
    data_dir: Path, ports: list[str], *args: str, session: bool = False
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "up", "--port", ports[0], "--registry-port", ports[1],
         "--metrics-port", ports[2], *args],
        env=_env(data_dir), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=session,
    )  # fmt: skip


def _wait_for(
    proc: subprocess.Popen[str], lines: list[str], needles: set[str], limit: float
) -> None:
    deadline = time.monotonic() + limit
    assert proc.stdout is not None
    os.set_blocking(proc.stdout.fileno(), False)
    while needles and time.monotonic() < deadline:
        chunk = proc.stdout.readline()
        if not chunk:
            if proc.poll() is not None:
                break
            time.sleep(0.2)
            continue
        lines.append(chunk)
        needles -= {n for n in needles if n in chunk}
    assert not needles, f"no apareció {needles} en la salida:\n{''.join(lines)}"


def _stop(proc: subprocess.Popen[str], lines: list[str]) -> str:
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    lines.append(out)
    return "".join(lines)


def _demo_run(data_dir: Path, ports: list[str], *, kill_worker: bool = False) -> str:
    """One ``sisi up --demo`` run of one round, stopped with Ctrl-C once the round is done."""
    proc = _start(data_dir, ports, "--demo", "--demo-people", "300", "--demo-interval", "2",
                  "--demo-deliveries", "1")  # fmt: skip
    lines: list[str] = []
    try:
        _wait_for(proc, lines, {"SISI en marcha", "trabajadores del hub"}, 60)
        if kill_worker:
            worker = int(re.search(r"trabajadores del hub +1 \(pid (\d+)\)", "".join(lines))[1])
            _wait_for(proc, lines, {f"{PADRON_AGREEMENTS[0]}: entrega 1"}, 120)
            os.kill(worker, signal.SIGKILL)  # a worker dies mid-demo: started again, nothing lost
            _wait_for(proc, lines, {"se reinicia"}, 30)
        _wait_for(proc, lines, {"terminaron sus entregas"}, 240)
    finally:
        text = _stop(proc, lines)
    assert proc.returncode == 0, text
    assert "SISI detenido." in text
    return text


def _digests(directory: Path) -> dict[str, str]:
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in directory.rglob("entrega-001*")
    }


def _count(line: str, what: str) -> int:
    found = re.search(rf"{what} (\d+)", line.replace(",", ""))
    assert found, line
    return int(found[1])


def test_a_second_demo_run_goes_on_where_the_first_stopped_and_agencies_are_on_time(
    tmp_path: Path,
) -> None:
    ports = [str(find_free_port()) for _ in range(3)]
    first = _demo_run(tmp_path, ports, kill_worker=True)
    assert "datos anteriores" not in first  # a fresh start says nothing about earlier data
    # the other commands need the ports it was started on
    assert (
        f"Para los demás comandos: export SISI_BOOTSTRAP_SERVERS=127.0.0.1:{ports[0]} "
        f"SISI_SCHEMA_REGISTRY_URL=http://127.0.0.1:{ports[1]} SISI_DATA_DIR="
    ) in first
    initial = {
        agreement: _count(
            next(x for x in first.splitlines() if f"{agreement}: entrega 1 → " in x), "inválidos"
        )
        for agreement in PADRON_AGREEMENTS
    }
    kept = _digests(tmp_path / "demo")
    assert len(kept) >= 3 * len(PADRON_AGREEMENTS)  # file, injected errors, rejection report

    second = _demo_run(tmp_path, ports)
    assert f"se conservan los de la corrida anterior en {tmp_path}" in second
    assert "para empezar de cero: sisi up --demo --reset" in second
    assert "desde la entrega 2" in second
    assert ": entrega 1 " not in second  # not rewound to the base roll
    assert _digests(tmp_path / "demo") == kept  # the first run's files are untouched
    deliveries = [line for line in second.splitlines() if ": entrega 2 → " in line]
    assert len(deliveries) == len(PADRON_AGREEMENTS), second
    for line in deliveries:
        assert "aceptados " in line and "código" not in line, line
        # churn against the kept snapshot (≈4% altas, ≈3% bajas), not a new roll nor a mass baja
        assert 0 < _count(line, "altas") < 30, line
        assert _count(line, "bajas") < 30, line
        assert _count(line, "pagos") >= _count(line, "altas"), line  # the new altas are paid
    for agreement in PADRON_AGREEMENTS:
        state = json.loads((tmp_path / "demo" / agreement / "estado.json").read_text())
        assert state["entrega"] == 2

    env = _env(tmp_path)
    shown = subprocess.run(
        [sys.executable, "-m", "hub.cli", "compliance", "--json"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    scorecards = {row["agreement_id"]: row for row in json.loads(shown.stdout)}
    for agreement in PADRON_AGREEMENTS:
        row = scorecards[agreement]
        assert row["initial_items"] > 500, row  # delivery 1: the initial load
        # delivery 2 is on time; only rows refused in delivery 1 and right now arrive late
        # (with the enrollment date the file carries, years ago)
        assert row["late_items"] <= initial[agreement], row

    engine = make_engine(f"sqlite:///{tmp_path / 'registry.sqlite3'}")
    try:
        totals = stats(engine)
        assert totals["people"] > 600
        assert len(totals["active_enrollments"]) == len(PADRON_AGREEMENTS)
        assert totals["payments"]["count"] > 4 * 290
    finally:
        engine.dispose()
    verify = subprocess.run(
        [sys.executable, "-m", "hub.cli", "audit", "verify"],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert verify.returncode == 0, verify.stdout + verify.stderr


def _children(pid: int) -> dict[int, str]:
    """Live processes whose parent is ``pid``, with their command lines."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found[int(entry.name)] = cmdline
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # an orphan's zombie is dead, whoever reaps it


def _wait_for_child(proc: subprocess.Popen[str], needle: str, limit: float) -> dict[int, str]:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        children = _children(proc.pid)
        if any(needle in cmdline for cmdline in children.values()):
            return children
        time.sleep(0.1)
    raise AssertionError(f"sisi up no inició un proceso con {needle!r}: {_children(proc.pid)}")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal: Linux")
def test_a_killed_sisi_up_takes_its_children_with_it(tmp_path: Path) -> None:
    ports = [str(find_free_port()) for _ in range(3)]
    proc = _start(tmp_path, ports, "--demo", "--demo-people", "2000")
    lines: list[str] = []
    try:
        _wait_for(proc, lines, {"agencias de demo"}, 60)
        children = _wait_for_child(proc, "synth", 30)  # mid-delivery: worker, broker, synth
        assert any(" hub.cli hub" in cmdline for cmdline in children.values()), children
        proc.kill()
        proc.wait(10)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(_alive(pid) for pid in children):
            time.sleep(0.2)
        left = {pid: cmd for pid, cmd in children.items() if _alive(pid)}
        assert not left, f"siguen vivos tras matar sisi up: {left}"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)
    with socket.socket() as sock:  # the worker's metrics port is free again
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", int(ports[2])))


def test_ctrl_c_during_a_synthetic_delivery_stops_quietly_after_a_reset(tmp_path: Path) -> None:
    for name in ("demo/CONV-X/estado.json", "producer/CONV-X.sqlite3", "keys/hub.key"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    ports = [str(find_free_port()) for _ in range(3)]
    proc = _start(tmp_path, ports, "--demo", "--demo-people", "2000", "--reset", "--yes",
                  session=True)  # fmt: skip
    lines: list[str] = []
    try:
        _wait_for(proc, lines, {"agencias de demo"}, 60)
        _wait_for_child(proc, "synth", 30)
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole group
        out, _ = proc.communicate(timeout=60)
        lines.append(out)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=30)
    text = "".join(lines)
    assert proc.returncode == 0, text
    assert f"Datos anteriores borrados en {tmp_path}: producer, demo." in text
    assert "datos anteriores       se conservan" not in text
    assert not (tmp_path / "demo" / "CONV-X").exists()
    assert not (tmp_path / "producer" / "CONV-X.sqlite3").exists()
    assert (tmp_path / "keys" / "hub.key").read_text() == "x"  # the hub's key is kept
    assert "no se pudo generar" not in text and "falló" not in text, text
    demo_lines = [line for line in text.splitlines() if line.startswith("[demo]")]
    assert all("detenida" in line for line in demo_lines), demo_lines
    assert "SISI detenido." in text
