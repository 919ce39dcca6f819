"""``sisi hub`` serves Prometheus ``/metrics`` on this machine only unless told otherwise."""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

import pytest

from hub.settings import Settings
from tests.hub.worker.running import HubProcess


def test_metrics_host_defaults_to_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SISI_METRICS_HOST", raising=False)
    assert Settings().metrics_host == "127.0.0.1"
    monkeypatch.setenv("SISI_METRICS_HOST", "0.0.0.0")
    assert Settings().metrics_host == "0.0.0.0"


def _listening(port: int) -> set[str]:
    """The IPv4 addresses listening on TCP ``port`` (from /proc/net/tcp)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if int(hex_port, 16) == port and state == "0A":  # LISTEN
            found.add(".".join(str(int(address[i : i + 2], 16)) for i in (6, 4, 2, 0)))
    return found


def _wait_for_metrics(hub: HubProcess, url: str, *, poll: float) -> None:
    """Until the worker's ``/metrics`` answers (it dies or 90 s pass: the test fails)."""
    deadline = time.monotonic() + 90
    while True:
        assert hub.alive(), hub.log_tail()
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            assert time.monotonic() < deadline, hub.log_tail()
            time.sleep(poll)


@pytest.mark.broker
@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc")
def test_a_hub_worker_binds_metrics_to_loopback(fresh_broker, tmp_path: Path) -> None:
    hub = HubProcess(fresh_broker, f"sqlite:///{tmp_path / 'registry.sqlite3'}", tmp_path)
    hub.env.pop("SISI_METRICS_HOST", None)
    url = f"http://127.0.0.1:{hub.metrics_port}/metrics"
    hub.start()
    try:
        _wait_for_metrics(hub, url, poll=0.5)
        assert _listening(hub.metrics_port) == {"127.0.0.1"}
    finally:
        assert hub.stop() == 0, hub.log_tail()
    assert f"métricas: {url}" in hub.log.read_text()


@pytest.mark.broker
def test_a_stop_asked_for_while_the_worker_starts_is_clean(fresh_broker, tmp_path: Path) -> None:
    """SIGTERM right after /metrics answers (faust is still starting) ends the worker with 0."""
    hub = HubProcess(fresh_broker, f"sqlite:///{tmp_path / 'registry.sqlite3'}", tmp_path)
    url = f"http://127.0.0.1:{hub.metrics_port}/metrics"
    for _ in range(3):
        hub.start()
        _wait_for_metrics(hub, url, poll=0.05)
        assert hub.stop() == 0, hub.log_tail()
