"""Child processes of ``sisi up``: they die with it, and Ctrl-C reaches them only through it.

Every child gets a parent-death signal (Linux ``prctl(PR_SET_PDEATHSIG, SIGTERM)``): when
``sisi up`` is killed outright (SIGKILL, an out-of-memory kill) its hub workers and demo steps
get SIGTERM and stop, instead of running on as orphans that hold the metrics port. Linux sends the
signal when the *thread* that started the child ends, so each child is started from a thread that
outlives it (the main thread for the workers, the demo thread for the synthetic-data steps it
waits for).

Each child also runs in its own process group, so the terminal's Ctrl-C reaches ``sisi up`` alone,
which then stops its children in order (a demo step then ends as "detenida", not as a failure).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["child_options"]

_PR_SET_PDEATHSIG = 1


def _load_prctl() -> Callable[..., int] | None:
    """libc's ``prctl``, looked up in the parent: between fork and exec the child only calls it."""
    if not sys.platform.startswith("linux"):
        return None
    with contextlib.suppress(OSError, AttributeError):
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
        return prctl
    return None


_PRCTL = _load_prctl()


def _die_with(parent: int, prctl: Callable[..., int]) -> Callable[[], None]:
    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the signal was set: nobody will send it
            os._exit(1)

    return preexec


def child_options() -> dict[str, Any]:
    """``subprocess.Popen`` keyword arguments for a child of the calling process."""
    options: dict[str, Any] = {"process_group": 0}
    if _PRCTL is not None:
        options["preexec_fn"] = _die_with(os.getpid(), _PRCTL)
    return options
