"""Fast path and general path store the same state; concurrent writers apply each item once."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from hub.db import Base
from hub.errors import SisiError
from hub.registry import ChangeItem, RegistryWriter
from tests.hub.registry.conftest import clear, header, item, snapshot

T = Base.metadata.tables


def _batch() -> list[ChangeItem]:
    return [
        item("R1"),
        item("R2", curp="LOMA900202MDFPRR02", nombre="Ana", geo=None),
        item("R3", curp=None, nombre="Sin Curp"),
        item("R4", "PAGO", "2025-01-20", curp="ZAZX700707HOCXXX03", fecha_beneficio="2025-01-21"),
        item("R5", "BAJA", "2025-02-01", curp="MAMX700707HOCXXX04"),
        item("R6", "BAJA", "2025-02-01", curp="NANX700707HOCXXX05", program=None),
        item("R7", "CAMBIO", "2025-03-01", curp="OAOX700707HOCXXX06", monto="99.99"),
        item("R8", curp=None, program=None, geo=None),
    ]


def test_the_fast_path_stores_what_the_general_path_stores(registry: Engine) -> None:
    writer = RegistryWriter(registry)
    fast = writer.apply(header(), _batch())
    assert fast.fast_path == fast.applied == 8
    by_fast = snapshot(registry)
    clear(registry)

    # every item through the general path: same rows, value for value
    general = RegistryWriter(registry)
    # pretend every CURP is known: those items take the general path
    general._known_curps.rows = lambda conn, keys, fixed=None: [(k,) for k in keys]
    slow = general.apply(header(), _batch())
    assert (slow.applied, slow.fast_path) == (8, 2)  # only the CURP-less items stay fast
    assert snapshot(registry) == by_fast


def test_a_batch_mixing_both_paths_matches_item_by_item(registry: Engine) -> None:
    writer = RegistryWriter(registry)
    writer.apply(header("m0"), [item("R1"), item("R2", curp=None)])
    mixed = [
        item("R1", "CAMBIO", "2025-02-01", nombre="Juan Carlos"),  # existing record
        item("R2", "BAJA", "2025-03-01", curp=None, program=None),  # existing, no CURP
        item("R3", curp="PEGJ800101HCSRRN01", program="U010"),  # new record, known CURP
        item("R4", curp="LOMA900202MDFPRR02"),  # new record, CURP twice in the batch
        item("R5", curp="LOMA900202MDFPRR02", nombre="Ana"),
        item("R6", curp="ZAZX700707HOCXXX03"),  # fast
    ]
    result = writer.apply(header("m1"), mixed)
    assert (result.applied, result.fast_path) == (6, 1)
    together = snapshot(registry)
    clear(registry)
    writer.apply(header("m0"), [item("R1"), item("R2", curp=None)])
    for one in mixed:
        writer.apply(header("m1"), [one])
    assert snapshot(registry) == together


def test_concurrent_writers_apply_each_item_once(registry: Engine) -> None:
    batch = [item(f"R{n}", curp=f"AAAA{n:06d}HDFXXX{n % 10}0") for n in range(300)]
    writers = [RegistryWriter(registry) for _ in range(3)]
    results = []
    errors: list[BaseException] = []

    def run(writer: RegistryWriter) -> None:
        try:
            results.append(writer.apply(header(), batch))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(r.applied for r in results) == [0, 0, 300]
    with registry.connect() as conn:
        for table in ("applied_items", "people", "source_records", "enrollments"):
            count = conn.execute(select(func.count()).select_from(T[table])).scalar_one()
            assert count == 300, table


def test_an_error_that_is_not_contention_is_not_retried(db_engine: Engine) -> None:
    # no migration: the tables are missing, which no retry can fix
    with pytest.raises(Exception) as caught:
        RegistryWriter(db_engine).apply(header(), [item("R1")])
    assert not isinstance(caught.value, SisiError)
    assert "applied_items" in str(caught.value)
