"""Run several hub workers as processes of one command; restart any that dies unexpectedly.

Each worker is a separate process in the same consumer group, so the partitions are shared
among them. A worker that exits with ``EXIT_RESUBSCRIBE`` (the agreements need other topics) is
started again at once. Worker ``i`` serves ``/metrics`` on ``metrics_port + i``. The workers get
SIGTERM if the supervisor dies, and SIGTERM when it is stopped (Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import signal
import sys
import time
from multiprocessing.process import BaseProcess
from types import FrameType

from hub.settings import Settings

#: Exit status of a worker that stopped cleanly to subscribe to a changed set of agreement topics
#: (defined here, not in ``hub.worker.app``, so that the supervisor does not import faust).
EXIT_RESUBSCRIBE = 75

__all__ = ["EXIT_RESUBSCRIBE", "supervise"]

_log = logging.getLogger(__name__)
_RESTART_PAUSE = 2.0


def _child(settings: Settings, metrics_port: int | None, publish_interval: float) -> None:
    with contextlib.suppress(Exception):  # Linux: SIGTERM when the supervisor goes away
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
    from hub.worker.app import run_worker

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    sys.exit(run_worker(settings, metrics_port=metrics_port, publish_interval=publish_interval))


def supervise(
    settings: Settings, workers: int, *, metrics_port: int | None, publish_interval: float
) -> int:
    """Start ``workers`` processes and keep them running until a stop signal; exit status."""
    context = multiprocessing.get_context("spawn")
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def start(index: int) -> BaseProcess:
        port = metrics_port + index if metrics_port else None
        process = context.Process(
            target=_child,
            args=(settings, port, publish_interval),
            name=f"sisi-hub-{index}",
            daemon=False,
        )
        process.start()
        return process

    processes = [start(i) for i in range(workers)]
    while not stopping:
        time.sleep(0.5)
        for index, process in enumerate(processes):
            if not process.is_alive() and not stopping:
                if process.exitcode == EXIT_RESUBSCRIBE:  # new topics: restart at once
                    _log.info("el worker %s se reinicia con los convenios nuevos", index)
                else:
                    _log.warning(
                        "el worker %s terminó (estado %s); se reinicia", index, process.exitcode
                    )
                    time.sleep(_RESTART_PAUSE)
                processes[index] = start(index)
    for process in processes:
        if process.is_alive() and process.pid is not None:
            process.terminate()
    for process in processes:
        process.join(timeout=30)
        if process.is_alive():
            process.kill()
    return 0
