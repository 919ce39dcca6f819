"""One ``sisi up`` per data directory: a second one (with or without --reset) is refused at once.

Real processes: a running ``sisi up`` holds the directory; another ``sisi up`` on other ports but
the same ``SISI_DATA_DIR`` must not start a second hub on the same SQLite file, and ``--reset
--yes`` must not delete the running stack's data. A ``sisi up`` killed outright (SIGKILL) leaves
the directory free for the next one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hub.broker import find_free_port
from hub.cli.local_state import LOCK_FILE, hold_data_dir

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def _env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ, SISI_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1")
    env.pop("SISI_DATABASE_URL", None)
    return env


def _ports() -> list[str]:
    return [
        "--port", str(find_free_port()), "--registry-port", str(find_free_port()),
        "--metrics-port", str(find_free_port()),
    ]  # fmt: skip


def _start(data_dir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "up", *_ports()],
        env=_env(data_dir), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def _wait_started(proc: subprocess.Popen[str], limit: float = 90) -> str:
    assert proc.stdout is not None
    os.set_blocking(proc.stdout.fileno(), False)
    lines: list[str] = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                break
            time.sleep(0.2)
            continue
        lines.append(line)
        if line.startswith("Consultas:"):  # the banner is complete
            return "".join(lines)
    raise AssertionError(f"sisi up no arrancó:\n{''.join(lines)}")


def _second(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", "up", *_ports(), *args],
        env=_env(data_dir), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def _stop(proc: subprocess.Popen[str], sig: int = signal.SIGINT) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate(timeout=30)


def test_a_second_sisi_up_on_the_same_data_dir_is_refused_and_reset_deletes_nothing(
    tmp_path: Path,
) -> None:
    first = _start(tmp_path)
    try:
        _wait_started(first)
        registry = tmp_path / "registry.sqlite3"
        assert registry.exists()
        size = registry.stat().st_size
        for args in ((), ("--demo",), ("--demo", "--reset", "--yes")):
            started = time.monotonic()
            done = _second(tmp_path, *args)
            assert done.returncode == 2, (args, done.stdout + done.stderr)
            assert time.monotonic() - started < 30  # at once, not after starting anything
            assert f"la carpeta de datos {tmp_path} ya la usa otro 'sisi up'" in done.stderr
            assert f"(pid {first.pid})" in done.stderr, done.stderr
            assert "Ctrl-C" in done.stderr and "SISI_DATA_DIR" in done.stderr
            assert "SISI en marcha" not in done.stdout
            assert "borrados" not in done.stdout
        # the running stack's data is all there, and it is still running
        assert registry.exists() and registry.stat().st_size >= size
        assert first.poll() is None
    finally:
        _stop(first)
    assert first.returncode == 0


def test_a_killed_sisi_up_leaves_the_data_dir_free_for_the_next(tmp_path: Path) -> None:
    first = _start(tmp_path)
    try:
        _wait_started(first)
    finally:
        _stop(first, signal.SIGKILL)  # no cleanup runs: the OS releases the lock
    assert (tmp_path / LOCK_FILE).exists()  # a stale file, which must not block
    again = _start(tmp_path)
    try:
        banner = _wait_started(again)
        assert "se conservan los de la corrida anterior" in banner
    finally:
        _stop(again)
    assert again.returncode == 0


def test_the_lock_is_held_while_open_and_released_after(tmp_path: Path) -> None:
    data_dir = tmp_path / "nueva" / "carpeta"
    with hold_data_dir(data_dir) as lock:
        assert lock.read_text().strip() == str(os.getpid())
        other = subprocess.run(
            [sys.executable, "-c",
             "from pathlib import Path; from hub.cli.local_state import hold_data_dir\n"
             f"with hold_data_dir(Path({str(data_dir)!r})): pass"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert other.returncode != 0
        assert "DataDirInUseError" in other.stderr and f"pid {os.getpid()}" in other.stderr
    with hold_data_dir(data_dir):  # released: taken again
        pass
