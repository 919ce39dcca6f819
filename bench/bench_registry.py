"""Registry writer throughput: ALTA batches of 500-5,000 items on SQLite and PostgreSQL.

Usage: ``python bench/bench_registry.py [--db URL] [--items N]``. Without ``--db`` it runs on a
fresh SQLite file and on a scratch PostgreSQL database (created and dropped on the local server);
with ``--db`` it runs on that database, which should be empty. Prints items/s; asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text

from hub.db import make_engine, migrate
from hub.registry import ChangeItem, ChangeSetHeader, RegistryWriter

__all__ = ["main"]

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
STATES = ("AS", "BC", "CS", "DF", "GR", "JC", "MC", "NL", "OC", "PL", "VZ", "YN")


def _items(start: int, count: int) -> list[ChangeItem]:
    items: list[ChangeItem] = []
    for n in range(start, start + count):
        letters = f"{'ABCDEFGH'[n % 8]}{'AEIOU'[n % 5]}{n % 97:02d}"
        curp = f"{letters}{n:06d}{'HM'[n % 2]}{STATES[n % 12]}XX0{n % 10}"
        items.append(
            {
                "reference_id": f"R{n:09d}",
                "operation": "ALTA",
                "effective_date": dt.date(2025, 1 + n % 12, 1 + n % 28),
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
                    "monto": Decimal("3100.00"),
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


def bench(url: str, label: str, total: int) -> None:
    """Apply ``total`` fresh ALTA items per batch size and print items/s."""
    engine = make_engine(url)
    migrate(engine)
    writer = RegistryWriter(engine)
    offset = 0
    for size in (500, 1000, 5000):
        batches = [_items(offset + i, size) for i in range(0, total, size)]
        offset += total
        elapsed = 0.0
        for number, items in enumerate(batches):
            header: ChangeSetHeader = {
                "message_id": uuid.uuid4().hex,
                "transaction_id": f"bench-{size}",
                "sender_id": "bench",
                "agreement_id": "BENCH-01",
                "sent_at": dt.datetime.now(dt.UTC),
                "chunk_index": number,
                "chunk_count": len(batches),
                "item_count": len(items),
            }
            started = time.perf_counter()
            result = writer.apply(header, items)
            elapsed += time.perf_counter() - started
            assert result.applied == len(items), result
        replay_started = time.perf_counter()
        writer.apply(header, items)  # the last batch again: all duplicates
        replay = time.perf_counter() - replay_started
        print(
            f"{label:10s} ALTA batch {size:5d}: {total / elapsed:9,.0f} items/s "
            f"({total:,} items in {elapsed:.2f} s); "
            f"replay of one batch {len(items) / replay:9,.0f} items/s"
        )
    with engine.connect() as conn:
        people = conn.execute(text("select count(*) from people")).scalar_one()
    print(f"{label:10s} people in registry: {people:,}")
    engine.dispose()


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database URL (empty); default: fresh SQLite and PostgreSQL")
    parser.add_argument("--items", type=int, default=50_000, help="items per batch size")
    args = parser.parse_args(argv)
    if args.db:
        bench(args.db, args.db.split(":")[0], args.items)
        return
    with tempfile.TemporaryDirectory() as tmp:
        bench(f"sqlite:///{tmp}/bench.sqlite3", "sqlite", args.items)
    name = f"sisi_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no server: report and stop, SQLite figures already printed
        print(f"postgresql: no disponible ({exc.__class__.__name__}); se omite")
        return
    try:
        bench(PG_SERVER.rsplit("/", 1)[0] + f"/{name}", "postgresql", args.items)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
