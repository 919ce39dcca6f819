"""``sisi broker`` as an operator runs it: starts, says where it listens, stops on SIGTERM."""

from __future__ import annotations

import os
import selectors
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from hub import topics as names
from hub.broker import EmbeddedBroker, existing_topics, find_free_port
from hub.settings import REPO_ROOT

pytestmark = pytest.mark.broker

SISI = REPO_ROOT / ".venv" / "bin" / "sisi"
PATIENCE = 60.0


def _read_until(process: subprocess.Popen[str], marker: str) -> str:
    """Collect stdout until it contains ``marker`` (bounded by PATIENCE).

    Reads the pipe's file descriptor directly: a buffered ``readline`` would hide data from
    ``select``.
    """
    assert process.stdout is not None
    fd = process.stdout.fileno()
    seen = b""
    deadline = time.monotonic() + PATIENCE
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while marker.encode() not in seen:
            assert time.monotonic() < deadline, f"no apareció {marker!r}; salida:\n{seen!r}"
            if selector.select(timeout=0.5):
                chunk = os.read(fd, 4096)
                if not chunk:
                    break
                seen += chunk
    return seen.decode()


def _start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(SISI), "broker", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
    )


def test_sisi_broker_starts_prints_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = find_free_port()
    process = _start(
        "--port", str(port), "--partitions", "2", "--log-file", str(tmp_path / "tansu.log"),
        env={"SISI_AGREEMENTS_DIR": str(tmp_path / "no-agreements-here")},
    )  # fmt: skip
    try:
        banner = _read_until(process, "Ctrl-C")
        assert f"escuchando en 127.0.0.1:{port}" in banner
        for topic in names.hub_topics():
            assert topic in banner
        assert "sisi.hub.accepted  (2 particiones)" in banner
        assert set(names.hub_topics()) <= existing_topics(f"127.0.0.1:{port}")
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=PATIENCE)
    assert process.returncode == 0, output
    assert "Broker detenido." in output
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))  # the broker is gone


def test_sisi_broker_on_a_busy_port_exits_non_zero_with_a_clear_message() -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        process = _start("--port", str(port), env={"SISI_AGREEMENTS_DIR": "/nonexistent"})
        output, _ = process.communicate(timeout=PATIENCE)
    assert process.returncode != 0
    assert "en uso" in output
    assert str(port) in output


def test_sisi_broker_rejects_a_missing_agreements_dir(tmp_path: Path) -> None:
    process = _start("--port", str(find_free_port()), "--agreements-dir", str(tmp_path / "nada"))
    output, _ = process.communicate(timeout=PATIENCE)
    assert process.returncode != 0
    assert "directorio de convenios" in output


def test_topics_only_creates_the_topics_on_an_existing_broker(
    fresh_broker: EmbeddedBroker, tmp_path: Path
) -> None:
    bootstrap = fresh_broker.bootstrap_servers
    env = {"SISI_AGREEMENTS_DIR": str(tmp_path / "none")}
    command = ["--topics-only", "--bootstrap-servers", bootstrap]
    first = _start(*command, env=env)
    output, _ = first.communicate(timeout=PATIENCE)
    assert first.returncode == 0, output
    assert f"{len(names.hub_topics())} creados ahora" in output
    assert set(names.hub_topics()) == existing_topics(bootstrap)

    again = _start(*command, env=env)
    output, _ = again.communicate(timeout=PATIENCE)
    assert again.returncode == 0, output
    assert "0 creados ahora" in output


def test_every_agreement_gets_its_topics(fresh_broker: EmbeddedBroker) -> None:
    from hub.agreements import load_agreements

    directory = REPO_ROOT / "agreements"
    ids = load_agreements(directory).ids
    assert ids  # the repository ships example agreements
    process = _start(
        "--topics-only", "--bootstrap-servers", fresh_broker.bootstrap_servers,
        "--agreements-dir", str(directory),
    )  # fmt: skip
    output, _ = process.communicate(timeout=PATIENCE)
    assert process.returncode == 0, output
    present = existing_topics(fresh_broker.bootstrap_servers)
    for agreement_id in ids:
        assert names.agreement_changes(agreement_id) in present
        assert names.agreement_receipts(agreement_id) in present


def test_a_broken_agreement_file_starts_nothing(tmp_path: Path) -> None:
    (tmp_path / "roto.yaml").write_text("id: [sin cerrar\n", encoding="utf-8")
    port = find_free_port()
    process = _start("--port", str(port), "--agreements-dir", str(tmp_path))
    output, _ = process.communicate(timeout=PATIENCE)
    assert process.returncode != 0
    assert "roto.yaml" in output
    assert "escuchando" not in output
