"""Garbage-collector settings of a hub worker process.

A batch of change sets allocates hundreds of thousands of short-lived containers (decoded items,
verdicts, registry rows, audit entries). With CPython's default threshold (700 allocations) the
young generation was collected thousands of times per batch, and every tenth-of-a-tenth of those
became a full collection that walked the whole heap, including the start-up objects that live as
long as the process (the INEGI catalogs, agreements, schemas, compiled CEL programs): a sampling
profile of ``sisi hub`` put ~13 % of the pipeline thread in ``gc_collect_main``.
:func:`tune_gc` moves the start-up objects out of the collector's sight (:func:`gc.freeze`) and
collects the young generation less often. Reference counting still frees almost everything at
once; only cyclic garbage waits a little longer.
"""

from __future__ import annotations

import gc

__all__ = ["YOUNG_THRESHOLD", "tune_gc"]

#: Allocations (minus deallocations) between collections of the youngest generation.
YOUNG_THRESHOLD = 20_000


def tune_gc() -> None:
    """Freeze what start-up built and collect less often (call once the worker is assembled)."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
