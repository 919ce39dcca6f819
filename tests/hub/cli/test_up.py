"""``sisi up --demo``, the README's main command, run as a user runs it: a real subprocess."""

from __future__ import annotations

import os
import re
import signal
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


def test_up_demo_delivers_every_padron_survives_a_killed_worker_and_stops(tmp_path: Path) -> None:
    env = dict(os.environ, SISI_DATA_DIR=str(tmp_path), PYTHONUNBUFFERED="1")
    env.pop("SISI_DATABASE_URL", None)
    ports = [str(find_free_port()) for _ in range(3)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "up", "--demo", "--demo-people", "300",
         "--demo-interval", "2", "--demo-deliveries", "2", "--port", ports[0],
         "--registry-port", ports[1], "--metrics-port", ports[2]],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lines: list[str] = []
    try:
        _wait_for(proc, lines, {"SISI en marcha", "trabajadores del hub"}, 60)
        worker = int(re.search(r"trabajadores del hub +1 \(pid (\d+)\)", "".join(lines))[1])
        _wait_for(proc, lines, {f"{PADRON_AGREEMENTS[0]}: entrega 1"}, 120)
        os.kill(worker, signal.SIGKILL)  # a worker dies mid-demo: started again, nothing lost
        _wait_for(proc, lines, {"se reinicia"}, 30)
        done = {f"{agreement}: entrega 2" for agreement in PADRON_AGREEMENTS}
        _wait_for(proc, lines, done, 240)
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
        lines.append(out)
    text = "".join(lines)
    assert proc.returncode == 0, text
    assert "SISI detenido." in text
    # the other commands need the ports it was started on
    assert (
        f"Para los demás comandos: export SISI_BOOTSTRAP_SERVERS=127.0.0.1:{ports[0]} "
        f"SISI_SCHEMA_REGISTRY_URL=http://127.0.0.1:{ports[1]} SISI_DATA_DIR="
    ) in text
    deliveries = [line for line in text.splitlines() if ": entrega 2 → " in line]
    assert len(deliveries) == len(PADRON_AGREEMENTS), text
    for line in deliveries:
        assert "altas " in line and "pagos " in line and "aceptados " in line, line
        assert "código" not in line, line

    engine = make_engine(f"sqlite:///{tmp_path / 'registry.sqlite3'}")
    try:
        totals = stats(engine)
        assert totals["people"] > 600
        assert len(totals["active_enrollments"]) == len(PADRON_AGREEMENTS)
        assert totals["payments"]["count"] > 0
    finally:
        engine.dispose()
    verify = subprocess.run(
        [sys.executable, "-m", "hub.cli", "audit", "verify"],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert verify.returncode == 0, verify.stdout + verify.stderr
