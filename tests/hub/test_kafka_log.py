"""librdkafka's repeated log lines are let through once per kind and half minute."""

from __future__ import annotations

import logging

import pytest

from hub import kafka_log
from hub.kafka_log import REPEAT_SECONDS, kafka_logger


def _fail(logger: logging.Logger, facility: str = "FAIL") -> None:
    # the shape confluent-kafka gives librdkafka's lines
    logger.log(logging.ERROR, "%s [%s] %s", facility, "rdkafka#producer-1", "Connect refused")


def test_repeated_lines_are_throttled_and_counted(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    monkeypatch.setattr(kafka_log.time, "monotonic", lambda: now[0])
    logger = kafka_logger("tests.librdkafka.throttle")
    assert kafka_logger("tests.librdkafka.throttle") is logger and len(logger.filters) == 1
    with caplog.at_level(logging.INFO, logger="tests.librdkafka.throttle"):
        for _ in range(50):
            _fail(logger)
        _fail(logger, "BROKERFAIL")  # another kind passes
        assert len(caplog.records) == 2
        now[0] += REPEAT_SECONDS
        _fail(logger)
    assert len(caplog.records) == 3
    assert caplog.records[-1].getMessage().endswith("(y 49 mensajes iguales omitidos)")


_READ_HEADS = """
import logging, sys
from hub.audit.publish import read_published_heads
from hub.errors import SisiError
if sys.argv[1] == "configured":
    logging.basicConfig(level=logging.WARNING, format="%(name)s %(message)s")
try:
    read_published_heads("127.0.0.1:{port}", "sisi.public.audit-head", None, timeout=3)
except SisiError as exc:
    print("error:", exc.message, file=sys.stderr)
"""


@pytest.mark.parametrize("configured", [False, True])
def test_a_cli_with_no_logging_prints_no_librdkafka_lines(configured: bool) -> None:
    """The audit's consumer against a broker that is down: only the Spanish error, unless the
    process configured logging (``sisi hub``), which still gets librdkafka's lines."""
    import subprocess
    import sys

    from hub.broker import find_free_port

    code = _READ_HEADS.format(port=find_free_port())  # nothing listens there
    done = subprocess.run(
        [sys.executable, "-c", code, "configured" if configured else "cli"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert "error: el broker 127.0.0.1:" in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if "rdkafka" in line]
    if configured:
        assert lines and all(line.startswith("hub.librdkafka ") for line in lines), done.stderr
    else:
        assert lines == [], done.stderr
