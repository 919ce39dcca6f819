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
