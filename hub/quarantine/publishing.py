"""Publishing a replay and knowing where it landed (the embedded broker reuses positions).

The hub knows a message it already processed by its position (topic, partition, offset) and
message id. The embedded broker forgets its log on restart and hands out offsets from 0 again,
so a replay can land exactly where its refused copy was read: the hub would take it for a
redelivery of that copy and answer again what it answered then (nothing, for a set refused
before its signature verified). A replay therefore needs to know where it landed, and to be
published once more when that is the original position: the second copy lands after it.
"""

from __future__ import annotations

from typing import Any

from hub.worker.publisher import KafkaPublisher

__all__ = ["PositionedPublisher"]


class PositionedPublisher(KafkaPublisher):
    """A :class:`KafkaPublisher` that keeps where each acknowledged record landed."""

    def __init__(self, bootstrap_servers: str, *, timeout: float = 30.0) -> None:
        super().__init__(bootstrap_servers, timeout=timeout)
        self.delivered: list[tuple[str, int, int]] = []

    def _report(self, error: Any, message: Any) -> None:
        super()._report(error, message)
        if error is None:
            with self._lock:
                self.delivered.append((message.topic(), message.partition(), message.offset()))
