"""Registry writer throughput against the raw ceiling, on SQLite and PostgreSQL, in one run.

Usage: ``python bench/bench_registry.py [--db URL] [--items N]``. Without ``--db`` it runs on a
fresh SQLite file and on a scratch PostgreSQL database (created and dropped on the local server);
with ``--db`` it runs on that database, which should be empty. Prints figures; asserts nothing.

For each batch size it measures, on the same database and in alternation (the machine is shared
with other jobs, so only figures taken side by side compare):

- **writer**: ``RegistryWriter.apply`` of ALTA batches about new records (the fast path), one
  transaction per batch, committed;
- **raw**: the raw ceiling — the same items flattened to one tuple each and bulk-inserted into one
  plain table without indexes (``executemany`` on SQLite, ``COPY`` on PostgreSQL), one committed
  transaction per batch;

and prints both in items/s and their ratio. Then: a replay of a batch (all duplicates) and CAMBIO
batches on existing records (the general path: reads, re-fold, updates).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scratchdb import PG_SERVER, scratch_databases
from sqlalchemy import text
from sqlalchemy.engine import Engine

from hub.db import make_engine, migrate
from hub.registry import ChangeItem, ChangeSetHeader, RegistryWriter

__all__ = ["main"]

STATES = ("AS", "BC", "CS", "DF", "GR", "JC", "MC", "NL", "OC", "PL", "VZ", "YN")
RAW_COLUMNS = (
    "reference_id", "operation", "effective_date", "curp", "primer_apellido", "segundo_apellido",
    "nombre", "fecha_nacimiento", "entidad_nacimiento", "sexo", "clave_programa", "tipo_beneficio",
    "monto", "titular", "cve_ent", "cve_mun", "cve_loc", "message_id",
)  # fmt: skip


def _items(start: int, count: int, operation: str = "ALTA") -> list[ChangeItem]:
    items: list[ChangeItem] = []
    for n in range(start, start + count):
        letters = f"{'ABCDEFGH'[n % 8]}{'AEIOU'[n % 5]}{n % 97:02d}"
        curp = f"{letters}{n:06d}{'HM'[n % 2]}{STATES[n % 12]}XX0{n % 10}"
        month = 1 + n % 12 if operation == "ALTA" else 12
        items.append(
            {
                "reference_id": f"R{n:09d}",
                "operation": operation,  # type: ignore[typeddict-item]
                "effective_date": dt.date(2025, month, 1 + n % 28),
                "person": {
                    "curp": curp[:18],
                    "primer_apellido": "HERNÁNDEZ" if n % 3 else "GARCIA",
                    "segundo_apellido": "LÓPEZ" if n % 4 else None,
                    "nombre": "MARÍA JOSÉ" if n % 2 else "JUAN",
                    "fecha_nacimiento": dt.date(1950 + n % 60, 1 + n % 12, 1 + n % 28),
                    "entidad_nacimiento": STATES[n % 12],
                    "sexo": "HM"[n % 2],
                    "discapacidad": None,
                    "indigena": None,
                },
                "benefit": {
                    "clave_programa": "S176",
                    "tipo_beneficio": "MONETARIO",
                    "monto": Decimal("3100.00") if operation == "ALTA" else Decimal("3200.00"),
                    "fecha_beneficio": None,
                    "titular": True,
                },
                "geography": {
                    "cve_ent": f"{1 + n % 32:02d}",
                    "cve_mun": f"{1 + n % 120:03d}",
                    "cve_loc": "0001",
                    "domicilio": None,
                },
            }
        )
    return items


def _header(number: int, count: int, size: int) -> ChangeSetHeader:
    return {
        "message_id": uuid.uuid4().hex,
        "transaction_id": f"bench-{size}",
        "sender_id": "bench",
        "agreement_id": "BENCH-01",
        "sent_at": dt.datetime.now(dt.UTC),
        "chunk_index": number,
        "chunk_count": count,
        "item_count": size,
    }


class RawCeiling:
    """Bulk insert of the same items into one plain table: the most any writer could do here."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"
        names = ", ".join(f"{c} {'text' if self.postgres else ''}" for c in RAW_COLUMNS)
        with engine.begin() as conn:
            conn.execute(text(f"CREATE TABLE bench_raw ({names})"))
        cols = ", ".join(RAW_COLUMNS)
        marks = ", ".join("?" * len(RAW_COLUMNS))
        self.sql = (
            f"COPY bench_raw ({cols}) FROM STDIN"
            if self.postgres
            else f"INSERT INTO bench_raw ({cols}) VALUES ({marks})"
        )

    def apply(self, header: ChangeSetHeader, items: list[ChangeItem]) -> None:
        """Flatten and insert ``items`` in one committed transaction."""
        message = header["message_id"]
        iso = not self.postgres
        rows = []
        for item in items:
            person = item["person"]
            benefit: Any = item.get("benefit") or {}
            geo: Any = item.get("geography") or {}
            eff: Any = item["effective_date"]
            born: Any = person.get("fecha_nacimiento")
            if iso:
                eff = eff.isoformat()
                born = born.isoformat() if born else None
            rows.append(
                (
                    item["reference_id"], item["operation"], eff, person.get("curp"),
                    person["primer_apellido"], person.get("segundo_apellido"), person["nombre"],
                    born, person.get("entidad_nacimiento"), person.get("sexo"),
                    benefit.get("clave_programa"), benefit.get("tipo_beneficio"),
                    str(benefit.get("monto")), benefit.get("titular"), geo.get("cve_ent"),
                    geo.get("cve_mun"), geo.get("cve_loc"), message,
                )
            )  # fmt: skip
        with self.engine.begin() as conn:
            raw: Any = conn.connection.driver_connection
            if self.postgres:
                with raw.cursor() as cursor, cursor.copy(self.sql) as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                raw.executemany(self.sql, rows)


def _timed(apply: Callable[[ChangeSetHeader, list[ChangeItem]], Any], batches: list[Any]) -> float:
    elapsed = 0.0
    for header, items in batches:
        started = time.perf_counter()
        apply(header, items)
        elapsed += time.perf_counter() - started
    return elapsed


def bench(url: str, label: str, total: int) -> None:
    """Writer vs raw ceiling per batch size, then a replay and the general path."""
    engine = make_engine(url)
    migrate(engine)
    writer = RegistryWriter(engine)
    raw = RawCeiling(engine)
    offset = 0
    last: tuple[ChangeSetHeader, list[ChangeItem]] | None = None
    for size in (500, 1000, 5000):
        count = max(1, total // size)
        batches = [(_header(i, count, size), _items(offset + i * size, size)) for i in range(count)]
        offset += count * size
        half = count // 2 or 1  # alternate halves so both see the same machine and table sizes
        w1 = _timed(writer.apply, batches[:half])
        r1 = _timed(raw.apply, batches[:half])
        w2 = _timed(writer.apply, batches[half:])
        r2 = _timed(raw.apply, batches[half:])
        items = count * size
        w_rate, r_rate = items / (w1 + w2), items / (r1 + r2)
        print(
            f"{label:10s} ALTA batch {size:5d}: writer {w_rate:9,.0f} items/s   "
            f"raw ceiling {r_rate:9,.0f} items/s   ratio {w_rate / r_rate:5.2f}   "
            f"({items:,} items)"
        )
        last = batches[-1]
    assert last is not None
    started = time.perf_counter()
    result = writer.apply(*last)  # the last batch again: all duplicates
    print(
        f"{label:10s} replay of a {len(last[1])}-item batch: "
        f"{len(last[1]) / (time.perf_counter() - started):9,.0f} items/s "
        f"({result.duplicates} duplicates)"
    )
    size = 1000
    count = max(1, min(total, offset) // size)
    cambios = [
        (_header(i, count, size), _items(i * size, size, "CAMBIO")) for i in range(count)
    ]
    elapsed = _timed(writer.apply, cambios)
    print(
        f"{label:10s} CAMBIO batch {size} on existing records (general path): "
        f"{count * size / elapsed:9,.0f} items/s"
    )
    with engine.connect() as conn:
        people = conn.execute(text("select count(*) from people")).scalar_one()
        spans = conn.execute(text("select count(*) from enrollments")).scalar_one()
    print(f"{label:10s} registry: {people:,} people, {spans:,} enrollment states")
    engine.dispose()


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", help="database URL (empty); default: fresh SQLite and PostgreSQL")
    parser.add_argument("--items", type=int, default=50_000, help="items per batch size")
    args = parser.parse_args(argv)
    if args.db:
        bench(args.db, args.db.split(":")[0], args.items)
        return
    with tempfile.TemporaryDirectory() as tmp:
        bench(f"sqlite:///{tmp}/bench.sqlite3", "sqlite", args.items)
    with scratch_databases(PG_SERVER) as fresh:
        try:
            url = fresh()
        except Exception as exc:  # no server: report and stop, SQLite figures already printed
            print(f"postgresql: no disponible ({exc.__class__.__name__}); se omite")
            return
        bench(url, "postgresql", args.items)


if __name__ == "__main__":
    main()
