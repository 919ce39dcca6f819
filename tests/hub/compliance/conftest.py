"""Fixtures of the compliance tests: the gatekeeper's pipeline on a fresh database."""

from __future__ import annotations

import threading
from collections.abc import Callable

from tests.hub.gatekeeper.fixtures import hub

__all__ = ["at_once", "hub"]


def at_once(work: Callable[[int], object], workers: int = 2) -> None:
    """Run ``work(k)`` for each worker k in its own thread, released together; re-raise the first
    error any of them had."""
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def run(k: int) -> None:
        try:
            barrier.wait(10)
            work(k)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
