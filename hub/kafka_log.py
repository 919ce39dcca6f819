"""librdkafka's log lines through Python logging, at most one per kind every half minute.

confluent-kafka hands librdkafka's log to a Python logger when its config names one (else
librdkafka writes to stderr itself). With a broker that is down, librdkafka logs a connection
failure for every retry, several per second: a command that waits 30 s for the broker printed
hundreds of lines before its own Spanish error. :func:`kafka_logger` gives the logger to put in
the config, with a filter that lets through the first record of each (level, facility) and then
one every :data:`REPEAT_SECONDS`, saying how many it left out.

The logger also gets a :class:`logging.NullHandler`: in a process that configured logging (``sisi
hub`` and its workers, ``logging.basicConfig``) the records still reach its handlers, but a CLI
command that configured none (``sisi audit verify --published``, ``sisi produce``) no longer prints
librdkafka's lines through Python's last-resort handler before its own Spanish error.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Final

__all__ = ["REPEAT_SECONDS", "kafka_logger"]

#: Seconds between two records of the same level and facility.
REPEAT_SECONDS: Final = 30.0


class _Throttle(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self._last: dict[tuple[int, str], tuple[float, int]] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        kind = (record.levelno, str(args[0]) if args else record.getMessage()[:40])
        now = time.monotonic()
        with self._lock:
            last, skipped = self._last.get(kind, (-REPEAT_SECONDS, 0))
            if now - last < REPEAT_SECONDS:
                self._last[kind] = (last, skipped + 1)
                return False
            self._last[kind] = (now, 0)
        if skipped:
            record.msg = f"{record.msg} (y {skipped} mensajes iguales omitidos)"
        return True


def kafka_logger(name: str) -> logging.Logger:
    """The logger ``name`` with the throttle (installed once), for confluent-kafka's ``logger``."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, _Throttle) for f in logger.filters):
        logger.addFilter(_Throttle())
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        # a handler in the chain: Python's last resort (stderr) is no longer used
        logger.addHandler(logging.NullHandler())
    return logger
