"""With the broker down, ``sisi produce`` says the change sets were not published (they wait in
the outbox for ``sisi outbox resend``), not that the hub has yet to answer them."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from pathlib import Path

from hub.schema_registry import RunningRegistry
from hub.settings import REPO_ROOT, Settings
from tests.producers.conftest import Synth, env_for

PAM = "CONV-BIENESTAR-PAM-2026"
SISI = str(REPO_ROOT / ".venv" / "bin" / "sisi")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_unpublished_sets_are_not_called_unreceipted(
    registry: RunningRegistry, synth: Synth, tmp_path: Path
) -> None:
    settings = Settings(
        bootstrap_servers=f"127.0.0.1:{_closed_port()}",
        schema_registry_url=registry.url,
        data_dir=tmp_path / "var",
    )
    path = synth(PAM, people=10)
    env = env_for(settings)
    started = time.monotonic()
    done = subprocess.run(
        [SISI, "produce", "--agreement", PAM, "--input", str(path), "--chunk-size", "5",
         "--wait", "--timeout", "30"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert time.monotonic() - started < 25  # nothing published: no waiting for receipts
    assert "  publicados:           0 conjuntos de cambios (de 2)" in done.stdout
    assert (
        "  sin publicar:         2 conjuntos no llegaron al broker (el broker no responde): "
        "quedan guardados en la bandeja de salida; envíelos con 'sisi outbox resend' cuando "
        "el broker responda (no hace falta entregar el archivo otra vez)"
    ) in done.stdout
    assert "sin acuse" not in done.stdout and "aún no responde" not in done.stdout
    assert "acuses: use --wait" not in done.stdout
    as_json = subprocess.run(
        [SISI, "produce", "--agreement", PAM, "--input", str(synth(PAM, people=12, seed=2)),
         "--chunk-size", "5", "--json"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    data = json.loads(as_json.stdout)
    assert (data["unpublished"], data["awaiting_receipt"], data["published"]) == (3, 0, 0)
    status = subprocess.run(
        [SISI, "outbox", "status", "--agreement", PAM, "--no-refresh"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert (
        "  5 conjuntos sin publicar (no llegaron al broker): envíelos con 'sisi outbox resend' "
        "cuando el broker responda"
    ) in status.stdout, status.stdout
    assert "esperan acuse" not in status.stdout
