"""The peak resident memory of this process image, for the delivery summary and the benchmarks.

``ru_maxrss`` is not enough on Linux: a child process started with fork + exec inherits the
parent's high-water mark at the fork (a reading process of a 150 MB parent would report at least
150 MB). ``VmHWM`` in ``/proc/self/status`` belongs to the current image only, so it is read
first; ``ru_maxrss`` is the fallback elsewhere.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path

__all__ = ["peak_rss_mb"]


def peak_rss_mb() -> float:
    """Peak resident set size of this process since it started its program, in MB (2**20)."""
    try:
        with Path("/proc/self/status").open(encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
