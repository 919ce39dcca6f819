"""Audit log throughput: ``append_many`` entries/s on SQLite and PostgreSQL, against a baseline.

Usage: ``python bench/bench_audit.py [--entries N] [--batch B] [--threads T] [--pg URL]``. Runs on
a fresh SQLite file and on a scratch PostgreSQL database created and dropped on the local server
(skipped with a note when there is none). For each database it measures, in the same run and on
the same code, signed batch heads (the design: one signature per batch) and the per-entry-signature
baseline (``AuditLog(sign_each_entry=True)``), and prints the ratio; then the replay (skip) and
verification rates. Also prints the cost of the parts: canonical bytes + SHA-256 + entry, and
one Ed25519 signature. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from scratchdb import PG_SERVER, scratch_databases

from hub.audit import (
    GENESIS_HASH,
    Action,
    AuditEvent,
    AuditLog,
    ChainHead,
    extend_chain,
    verify_chain,
)
from hub.audit.signing import sign_hashes
from hub.db import make_engine, migrate

__all__ = ["main"]


def events(count: int, tag: str) -> list[AuditEvent]:
    return [
        AuditEvent(
            actor="hub.registro",
            action=Action.ITEM_ACCEPTED,
            agreement_id="BIENESTAR-01",
            message_id=f"{tag}-{index // 500:06d}",
            reference_id=f"ref-{index:08d}",
            details={"programa": "S072", "operacion": "ALTA"},
        )
        for index in range(count)
    ]


def parts(count: int, threads: int) -> None:
    key = Ed25519PrivateKey.generate()
    batch = events(count, "parts")
    empty = ChainHead(0, GENESIS_HASH, b"", None)
    started = time.perf_counter()
    entries = extend_chain(empty, batch, datetime.now(UTC), lambda hashes: [b""] * len(hashes))
    hashing = time.perf_counter() - started
    hashes = [entry.entry_hash for entry in entries]
    started = time.perf_counter()
    sign_hashes(key, hashes, threads=1)
    one = time.perf_counter() - started
    started = time.perf_counter()
    sign_hashes(key, hashes, threads=threads)
    many = time.perf_counter() - started
    started = time.perf_counter()
    events(count, "again")
    making = time.perf_counter() - started
    print(f"AuditEvent construction (caller):  {making / count * 1e6:6.1f} µs/entry")
    print(f"canonical bytes + SHA-256 + entry: {hashing / count * 1e6:6.1f} µs/entry")
    print(f"Ed25519 sign, 1 thread:            {one / count * 1e6:6.1f} µs/entry")
    print(f"Ed25519 sign, {threads} threads:           {many / count * 1e6:6.1f} µs/entry")


def append_rate(log: AuditLog, workload: list[AuditEvent], batch: int) -> float:
    started = time.perf_counter()
    for start in range(0, len(workload), batch):
        log.append_many(workload[start : start + batch])
    return len(workload) / (time.perf_counter() - started)


def run(label: str, url: str, total: int, batch: int, threads: int) -> None:
    engine = make_engine(url)
    migrate(engine)
    key = Ed25519PrivateKey.generate()
    baseline = AuditLog(engine, key, signing_threads=threads, sign_each_entry=True)
    log = AuditLog(engine, key, signing_threads=threads)
    # Same database, alternating halves, so neither design gets the emptier table.
    base_rate = append_rate(baseline, events(total // 2, f"{label}-base-1"), batch)
    rate = append_rate(log, events(total, label), batch)
    second = append_rate(baseline, events(total // 2, f"{label}-base-2"), batch)
    base_rate = (base_rate + second) / 2
    print(
        f"{label:10s} append_many: {rate:9,.0f} entries/s signed batch heads "
        f"({total:,}, batches of {batch:,})"
    )
    print(f"{label:10s} baseline:    {base_rate:9,.0f} entries/s one signature per entry")
    print(f"{label:10s} ratio:       {rate / base_rate:9.1f}x")
    for small in (500, 50):
        small_rate = append_rate(log, events(min(total, 20_000), f"{label}-{small}"), small)
        print(f"{label:10s} batches of {small:3d}: {small_rate:9,.0f} entries/s")
    workload = events(total, label)
    started = time.perf_counter()
    again = sum(len(log.append_many(workload[s : s + batch])) for s in range(0, total, batch))
    elapsed = time.perf_counter() - started
    print(f"{label:10s} replay:      {total / elapsed:9,.0f} entries/s skipped (added {again})")
    started = time.perf_counter()
    report = verify_chain(log.iter_entries(), log.public_key, expected_head=log.head())
    elapsed = time.perf_counter() - started
    state = "ok" if report.ok else report.render()
    print(
        f"{label:10s} verify:      {report.entries_checked / elapsed:9,.0f} entries/s "
        f"({report.entries_checked:,} entries, both kinds, {state})"
    )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pg", default=PG_SERVER, help="admin URL of a PostgreSQL server")
    args = parser.parse_args()
    parts(min(args.entries, 20_000), args.threads)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'audit.sqlite3'}"
        run("sqlite", url, args.entries, args.batch, args.threads)
    with scratch_databases(args.pg) as fresh:
        try:
            url = fresh()
        except Exception as exc:
            print(f"postgresql: omitido ({type(exc).__name__}: no hay servidor en {args.pg})")
            return
        run("postgresql", url, args.entries, args.batch, args.threads)


if __name__ == "__main__":
    main()
