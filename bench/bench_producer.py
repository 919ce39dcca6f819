"""Producer throughput: a synthetic padrón from file to broker, validated, diffed, signed, sent.

Run: ``python bench/bench_producer.py [--records 1000000] [--agreement ID] [--workers N]``.
Writes the padrón with ``sisi synth padron`` (kept under ``--cache`` so reruns skip it), starts
an embedded broker and the Schema Registry in a background thread, creates the agreement's
topics, then times ``producers.pipeline.produce_file`` against an empty snapshot (every row is
an ALTA and gets a PAGO with ``--period``) and prints records/s and the peak RSS of this process
and of the reading workers. The broker's own memory is not counted (it is the hub's, not the
agency's).

Measured on the 2-core machine (PAM layout, ``--period`` so 2 items per row, 500 per change set,
load average 0.7-1.2 when started): 1M rows in 22.9-24.1 s (≈41,500-43,600 records/s), 5M in 116 s
(≈43,200 records/s); peak RSS 185 MB for the main process and 118-128 MB per reading process,
flat with file size. Of a 1M run, about 16 s are the two reading processes (≈25 µs of CPU per
row each: read, map, validate, encode), 3.4 s chunking and signing into the outbox and 2.9 s
publishing; still below the 50,000/s goal. (Before: 1M in 46-50 s, ≈20,000-21,800 records/s.)
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hub.agreements import demo_private_key, load_agreements
from hub.broker import EmbeddedBroker, ensure_topics, topics_for_agreements
from hub.schema_registry import running_registry
from hub.settings import Settings
from producers.pipeline import ProduceOptions, produce_file

__all__ = ["main"]


def _padron(agreement_id: str, records: int, cache: Path) -> Path:
    suffix = ".xlsx" if "EDOMEX" in agreement_id else ".txt"
    path = cache / f"padron-{agreement_id}-{records}{suffix}"
    if not path.exists():
        print(f"generando {records:,} registros con sisi synth (una vez) ...", flush=True)
        started = time.perf_counter()
        subprocess.run(
            [
                str(Path(sys.executable).parent / "sisi"), "synth", "padron",
                "--agreement", agreement_id, "--people", str(records), "--seed", "2026",
                "--out", str(path),
            ],
            check=True,
            env={**os.environ},
        )  # fmt: skip
        print(f"  generado en {time.perf_counter() - started:.1f} s", flush=True)
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--agreement", default="CONV-BIENESTAR-PAM-2026")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--period", default="2026-01")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "sisi-bench")
    args = parser.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    path = _padron(args.agreement, args.records, args.cache)
    agreement = load_agreements().get(args.agreement)
    work = Path(tempfile.mkdtemp(prefix="sisi-bench-producer-"))
    try:
        with (
            EmbeddedBroker(log_path=work / "tansu.log") as broker,
            running_registry() as registry,
        ):
            ensure_topics(broker.bootstrap_servers, topics_for_agreements([agreement.id]))
            settings = Settings(
                bootstrap_servers=broker.bootstrap_servers,
                schema_registry_url=registry.url,
                data_dir=work / "var",
            )
            options = ProduceOptions(input=path, period=args.period, parts=args.workers)
            started = time.perf_counter()
            summary = produce_file(agreement, demo_private_key(agreement.id), options, settings)
            elapsed = time.perf_counter() - started
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"archivo:            {path} ({path.stat().st_size / 1e6:,.0f} MB)")
        print(f"leídos:             {summary.read:,} (inválidos {summary.invalid_rows:,})")
        print(f"altas / pagos:      {summary.altas:,} / {summary.pagos:,}")
        print(f"conjuntos:          {summary.published:,} publicados de {summary.change_sets:,}")
        print(f"tiempo:             {elapsed:.1f} s")
        print(f"registros/s:        {summary.read / elapsed:,.0f}")
        print(f"RSS pico (proceso): {own:,.0f} MB")
        print(f"RSS pico (lector):  {summary.worker_peak_rss_mb:,.0f} MB por proceso de lectura")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
