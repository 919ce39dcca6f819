"""Synthetic padrón speed: records/s and peak RSS writing 1M rows of the pipe (PAM) layout."""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

from hub.agreements import load_agreements
from hub.settings import get_settings
from producers.synth.geo import load_pools
from producers.synth.padron import generate_padron
from producers.synth.writer import write_records

__all__ = ["main"]


def main(people: int = 1_000_000, agreement_id: str = "CONV-BIENESTAR-PAM-2026") -> None:
    """Generate and write ``people`` rows; print records/s and peak RSS."""
    agreement = load_agreements(get_settings().agreements_dir).get(agreement_id)
    load_pools()  # the INEGI catalog load is a one-off cost, not per record
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "padron.txt"
        start = time.perf_counter()
        result = write_records(generate_padron(agreement, people, seed=1), agreement.layout, out)
        elapsed = time.perf_counter() - start
        size = out.stat().st_size
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{agreement_id} ({agreement.layout.format}): {result.records:,} registros en {elapsed:.1f} s")
    print(f"  {result.records / elapsed:,.0f} registros/s, {size / 1e6:.0f} MB, RSS pico {peak_mb:.0f} MB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
