"""Producer throughput: a synthetic padrón from file to broker, validated, diffed, signed, sent.

Run: ``python bench/bench_producer.py [--records 1000000] [--agreement ID] [--workers N]``.
Writes the padrón with ``sisi synth padron`` (kept under ``--cache`` so reruns skip it), starts
an embedded broker and the Schema Registry in this process, creates the agreement's topics, then
runs ``sisi produce --json`` as its own process against an empty state (every row is an ALTA and
gets a PAGO with ``--period``: the padrón is written with ``--recent``, so its payment dates fall in
the month ``--period`` names) and prints records/s and the peak RSS of the delivering process and
of each reading process, and their sum. The broker's and the registry's memory is not
counted (they are the hub's, not the agency's). See bench/README.md for the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from hub.agreements import load_agreements
from hub.broker import EmbeddedBroker, ensure_topics, topics_for_agreements
from hub.cli.demo_agencies import payment_month
from hub.schema_registry import running_registry

__all__ = ["main"]


def _padron(agreement_id: str, records: int, cache: Path) -> Path:
    suffix = ".xlsx" if "EDOMEX" in agreement_id else ".txt"
    # --recent: every row's payment date falls in the month payment_month() names (the file
    # depends on the day it is made, hence the date in its name)
    path = cache / f"padron-{agreement_id}-{records}-{date.today().isoformat()}{suffix}"
    if not path.exists():
        print(f"generando {records:,} registros con sisi synth (una vez) ...", flush=True)
        started = time.perf_counter()
        subprocess.run(
            [
                str(Path(sys.executable).parent / "sisi"), "synth", "padron",
                "--agreement", agreement_id, "--people", str(records), "--seed", "2026",
                "--out", str(path), "--recent",
            ],
            check=True,
            env={**os.environ},
        )  # fmt: skip
        print(f"  generado en {time.perf_counter() - started:.1f} s", flush=True)
    return path


def _produce(
    agreement_id: str, path: Path, period: str, workers: int | None, env: dict[str, str]
) -> tuple[float, dict[str, Any], float]:
    """Run ``sisi produce --json`` as its own process: (seconds, summary, peak of the tree)."""
    command = [
        str(Path(sys.executable).parent / "sisi"), "produce", "--agreement", agreement_id,
        "--input", str(path), "--period", period, "--json",
    ]  # fmt: skip
    if workers is not None:
        command += ["--workers", str(workers)]
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"sisi produce terminó con {proc.returncode}")
    # ru_maxrss of a waited-for tree is the largest single process (and, on Linux, a forked
    # child starts with its parent's mark): a cross-check only, the sum comes from the summary
    return elapsed, json.loads(output), usage.ru_maxrss / 1024


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--agreement", default="CONV-BIENESTAR-PAM-2026")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument(
        "--period", default=None, help="AAAA-MM (default: the month of the file's payments)"
    )
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "sisi-bench")
    args = parser.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    path = _padron(args.agreement, args.records, args.cache)
    agreement = load_agreements().get(args.agreement)
    period = args.period or payment_month(agreement)
    work = Path(tempfile.mkdtemp(prefix="sisi-bench-producer-"))
    print(f"carga antes:        {_load()}", flush=True)
    try:
        with (
            EmbeddedBroker(log_path=work / "tansu.log") as broker,
            running_registry() as registry,
        ):
            ensure_topics(broker.bootstrap_servers, topics_for_agreements([agreement.id]))
            env = {
                **os.environ,
                "SISI_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
                "SISI_SCHEMA_REGISTRY_URL": registry.url,
                "SISI_DATA_DIR": str(work / "var"),
            }
            elapsed, summary, tree_peak = _produce(agreement.id, path, period, args.workers, env)
        main_peak = float(summary["peak_rss_mb"])
        readers = [float(peak) for peak in summary["reader_peak_rss_mb"]]
        total = main_peak + sum(readers)
        shown = " + ".join(f"{peak:,.0f}" for peak in readers) or "ninguno"
        print(f"carga después:      {_load()}")
        print(f"archivo:            {path} ({path.stat().st_size / 1e6:,.0f} MB)")
        print(f"leídos:             {summary['read']:,} (inválidos {summary['invalid_rows']:,})")
        print(f"altas / pagos:      {summary['altas']:,} / {summary['pagos']:,}")
        print(
            f"conjuntos:          {summary['published']:,} publicados de {summary['change_sets']:,}"
        )
        print(f"tiempo:             {elapsed:.1f} s (sisi produce, de arranque a salida)")
        print(f"registros/s:        {summary['read'] / elapsed:,.0f}")
        print(f"RSS pico (proceso): {main_peak:,.0f} MB")
        print(f"RSS pico (lectura): {shown} MB ({len(readers)} procesos)")
        print(f"RSS pico (suma):    {total:,.0f} MB (mayor del árbol por wait4: {tree_peak:,.0f})")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


if __name__ == "__main__":
    main()
