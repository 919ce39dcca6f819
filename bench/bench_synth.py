"""Synthetic padrón speed: records/s and peak RSS for 1M rows, and a baseline measured alongside.

Two layouts: the pipe file of the pension agreement (CONV-BIENESTAR-PAM-2026) and the cp1252 CSV
of the school grants (CONV-CNBBBJ-BUEMS-2026). The baseline writes the same number of constant
rows (the generated file's first data row) with the same mechanism (pipe: ``str.join``; CSV:
``csv.writer.writerows``), so the ratio says what generating costs over bare writing on this
machine at this moment (other jobs may share the two cores: records per CPU-second are printed
too). Each measurement runs in its own process so peak RSS is its own.

    .venv/bin/python bench/bench_synth.py [PEOPLE] [ERROR_RATE]
"""

from __future__ import annotations

import csv
import json
import resource
import subprocess
import sys
import tempfile
import time
from itertools import repeat
from pathlib import Path

__all__ = ["main"]

AGREEMENTS = ("CONV-BIENESTAR-PAM-2026", "CONV-CNBBBJ-BUEMS-2026")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _synth(agreement_id: str, people: int, error_rate: float, out: Path) -> dict[str, float]:
    from hub.agreements import load_agreements
    from hub.settings import get_settings
    from producers.synth.blockwriter import write_blocks
    from producers.synth.geo import load_pools
    from producers.synth.padron import padron_blocks

    agreement = load_agreements(get_settings().agreements_dir).get(agreement_id)
    load_pools()  # the INEGI catalog load is a one-off cost, not per record
    start, cpu = time.perf_counter(), time.process_time()
    blocks = padron_blocks(agreement, people, seed=1, error_rate=error_rate)
    result = write_blocks(blocks, agreement.layout, out, title=agreement.title)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"records": result.records, "errors": result.errors, "seconds": elapsed, "cpu": cpu,
            "mb": out.stat().st_size / 1e6, "rss": _peak_mb()}  # fmt: skip


def _baseline(agreement_id: str, people: int, sample: Path, out: Path) -> dict[str, float]:
    from hub.agreements import load_agreements
    from hub.settings import get_settings

    layout = load_agreements(get_settings().agreements_dir).get(agreement_id).layout
    with sample.open(encoding=layout.encoding, newline="") as handle:
        lines = handle.read(1 << 16).splitlines()
    data = lines[layout.skip_rows + (1 if layout.header else 0)]
    terminator = "\r\n" if layout.encoding == "cp1252" else "\n"
    delimiter = layout.effective_delimiter
    row = data.split(delimiter) if layout.format == "pipe" else next(csv.reader([data]))
    start, cpu = time.perf_counter(), time.process_time()
    with out.open("w", encoding=layout.encoding, newline="") as handle:
        left = people
        while left:
            n = min(4096, left)
            left -= n
            if layout.format == "pipe":
                handle.write(terminator.join(map(delimiter.join, repeat(row, n))) + terminator)
            else:
                csv.writer(handle, delimiter=delimiter, lineterminator=terminator).writerows(
                    repeat(row, n)
                )
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"records": people, "seconds": elapsed, "cpu": cpu, "rss": _peak_mb()}


def _child(args: list[str]) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(people: int = 1_000_000, error_rate: float = 0.0) -> None:
    """Generate ``people`` rows per agreement and the baseline; print the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        for agreement_id in AGREEMENTS:
            out = Path(tmp) / f"{agreement_id}.txt"
            synth = _child(["synth", agreement_id, str(people), str(error_rate), str(out)])
            base = _child(["baseline", agreement_id, str(people), str(out), str(out) + ".base"])
            rate = synth["records"] / synth["seconds"]
            base_rate = base["records"] / base["seconds"]
            print(f"{agreement_id}: {synth['records']:,.0f} registros en {synth['seconds']:.1f} s"
                  f" ({synth['mb']:.0f} MB, {synth['errors']:,.0f} errores)")  # fmt: skip
            print(f"  sintético: {rate:,.0f} registros/s"
                  f" ({synth['records'] / synth['cpu']:,.0f} por segundo de CPU),"
                  f" RSS pico {synth['rss']:.0f} MB")  # fmt: skip
            print(f"  línea base (filas constantes, mismo escritor): {base_rate:,.0f} registros/s,"
                  f" RSS pico {base['rss']:.0f} MB")  # fmt: skip
            print(f"  razón sintético/línea base: {rate / base_rate:.2f}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, agreement_id, n, *rest = sys.argv[2:]
        if kind == "synth":
            figures = _synth(agreement_id, int(n), float(rest[0]), Path(rest[1]))
        else:
            figures = _baseline(agreement_id, int(n), Path(rest[0]), Path(rest[1]))
        print(json.dumps(figures))
    else:
        main(
            int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000,
            float(sys.argv[2]) if len(sys.argv) > 2 else 0.0,
        )
