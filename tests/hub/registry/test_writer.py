"""The registry writer on SQLite and PostgreSQL: effects, idempotency, order independence."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from hub.db import Base
from hub.registry import RecordLink, RegistryWriter, person_by_curp, record_links, stats
from tests.hub.registry.conftest import AGREEMENT, PROGRAM, clear, header, item, snapshot

T = Base.metadata.tables


def _rows(engine: Engine, table: str, **where: object) -> list[dict[str, object]]:
    stmt = select(T[table])
    for key, value in where.items():
        stmt = stmt.where(T[table].c[key] == value)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(stmt).mappings()]


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(T[table])).scalar_one())


def _spans(engine: Engine, ref: str) -> list[tuple[str, str, str | None]]:
    rows = _rows(engine, "enrollments", reference_id=ref)
    spans = [
        (r["status"], str(r["valid_from"]), r["valid_to"] and str(r["valid_to"])) for r in rows
    ]
    return sorted(spans, key=lambda s: s[1])


def test_alta_creates_person_record_link_enrollment_and_ledger(registry: Engine) -> None:
    result = RegistryWriter(registry).apply(header(), [item("R1", nombre="José  maría")])
    assert (result.applied, result.duplicates, result.rejected) == (1, 0, ())
    assert result.applied_ids == ("R1",)
    [person] = _rows(registry, "people")
    assert person["curp"] == "PEGJ800101HCSRRN01"
    assert (person["primer_apellido"], person["nombre"]) == ("PEREZ", "JOSE MARIA")
    [record] = _rows(registry, "source_records")
    assert record["person_id"] == person["id"] and record["active"] is True
    assert (record["cve_ent"], record["cve_mun"], record["cve_loc"]) == ("07", "089", "0001")
    assert record_links(registry, AGREEMENT, "R1") == [
        RecordLink(AGREEMENT, "R1", person["id"], "curp", 1.0)
    ]
    assert _count(registry, "person_links") == 0  # the CURP link is the record's person_id
    [enrollment] = _rows(registry, "enrollments")
    assert enrollment["status"] == "ACTIVA" and enrollment["program_key"] == PROGRAM
    assert (enrollment["valid_from"], enrollment["valid_to"]) == (dt.date(2025, 1, 10), None)
    assert enrollment["monto_centavos"] == 150000
    [delivery] = _rows(registry, "deliveries")
    assert delivery["items_applied"] == 1 and delivery["transaction_id"] == "tx-1"
    assert _count(registry, "applied_items") == 1
    assert _rows(registry, "programs")[0]["key"] == PROGRAM


def test_cambio_updates_person_and_rolls_the_history(registry: Engine) -> None:
    writer = RegistryWriter(registry)
    writer.apply(header("m1"), [item("R1")])
    writer.apply(
        header("m2"),
        [item("R1", "CAMBIO", "2025-03-01", nombre="Juan Carlos", geo=("07", "101", "0005"))],
    )
    [person] = _rows(registry, "people")
    assert person["nombre"] == "JUAN CARLOS"
    assert _spans(registry, "R1") == [
        ("ACTIVA", "2025-01-10", "2025-03-01"),
        ("ACTIVA", "2025-03-01", None),
    ]
    [record] = _rows(registry, "source_records")
    assert (record["cve_mun"], record["cve_loc"]) == ("101", "0005")


def test_baja_closes_the_enrollment_on_its_effective_date(registry: Engine) -> None:
    writer = RegistryWriter(registry)
    writer.apply(header("m1"), [item("R1")])
    writer.apply(header("m2"), [item("R1", "BAJA", "2025-04-15", program=None, geo=None)])
    assert _spans(registry, "R1") == [
        ("ACTIVA", "2025-01-10", "2025-04-15"),
        ("BAJA", "2025-04-15", None),
    ]
    assert _rows(registry, "source_records")[0]["active"] is False
    assert stats(registry)["active_enrollments"] == {}


def test_pago_records_a_payment_without_touching_the_enrollment(registry: Engine) -> None:
    writer = RegistryWriter(registry)
    writer.apply(header("m1"), [item("R1")])
    writer.apply(
        header("m2"),
        [item("R1", "PAGO", "2025-02-01", monto="1500.50", fecha_beneficio="2025-02-03")],
    )
    [payment] = _rows(registry, "benefits_paid")
    assert payment["monto_centavos"] == 150050 and payment["fecha_beneficio"] == dt.date(2025, 2, 3)
    assert payment["person_id"] == _rows(registry, "people")[0]["id"]
    assert _spans(registry, "R1") == [("ACTIVA", "2025-01-10", None)]
    assert stats(registry)["payments"] == {"count": 1, "total": Decimal("1500.50")}


def test_replaying_the_same_batch_changes_nothing(registry: Engine) -> None:
    writer = RegistryWriter(registry)
    batch = [
        item("R1"),
        item("R2", curp="LOMA900202MDFPRR02", nombre="Ana"),
        item("R3", curp=None, nombre="Sin Curp"),
        item("R4", "PAGO", "2025-01-20", curp="LOMA900202MDFPRR02"),
        item("R5", "BAJA", "2025-02-01", curp="ZAZX700707HOCXXX03", program=None),
    ]
    first = writer.apply(header(), batch)
    before = snapshot(registry)
    again = writer.apply(header(), batch)
    assert first.applied == 5 and (again.applied, again.duplicates) == (0, 5)
    assert again.duplicate_ids == ("R1", "R2", "R3", "R4", "R5") or set(again.duplicate_ids) == {
        "R1",
        "R2",
        "R3",
        "R4",
        "R5",
    }
    assert snapshot(registry) == before
    # the delivery's counters and times do not move either
    assert _rows(registry, "deliveries")[0]["items_applied"] == 5


def test_the_same_key_twice_in_one_batch_counts_once(registry: Engine) -> None:
    result = RegistryWriter(registry).apply(header(), [item("R1"), item("R1", nombre="Otro")])
    assert (result.applied, result.duplicates) == (1, 1)
    assert _rows(registry, "people")[0]["nombre"] == "JUAN"


def test_split_or_reordered_batches_reach_the_same_state(registry: Engine) -> None:
    items = [item(f"R{n}", curp=f"AAAA{n:06d}HDFXXX{n % 10}0", nombre=f"N{n}") for n in range(40)]
    items += [item("R5", curp="AAAA000005HDFXXX50", nombre="N5")]  # redelivered inside the batch
    items += [item("P1", "PAGO", "2025-02-01", curp="AAAA000003HDFXXX30")]
    writer = RegistryWriter(registry)
    writer.apply(header(), items)
    whole = snapshot(registry)
    rng = random.Random(7)
    for _ in range(3):
        clear(registry)
        shuffled = items[:]
        rng.shuffle(shuffled)
        cuts = sorted(rng.sample(range(1, len(shuffled)), 3))
        for start, end in zip([0, *cuts], [*cuts, len(shuffled)], strict=True):
            writer.apply(header(), shuffled[start:end])
        assert snapshot(registry) == whole


def test_messages_in_any_order_reach_the_same_state(registry: Engine) -> None:
    messages = [
        (header("m1", sent_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC)), [item("R1", curp=None)]),
        (
            header("m2", sent_at=dt.datetime(2025, 2, 1, tzinfo=dt.UTC)),
            [item("R1", "CAMBIO", "2025-02-01", nombre="Juan Pablo", geo=("07", "101", None))],
        ),
        (
            header("m3", sent_at=dt.datetime(2025, 3, 1, tzinfo=dt.UTC)),
            [item("R1", "PAGO", "2025-03-01", curp=None, geo=None)],
        ),
        (
            header("m4", sent_at=dt.datetime(2025, 4, 1, tzinfo=dt.UTC)),
            [item("R1", "BAJA", "2025-04-01", program=None, geo=None)],
        ),
        (
            header("m5", sent_at=dt.datetime(2025, 5, 1, tzinfo=dt.UTC)),
            [item("R2", nombre="Juan Pablo")],
        ),
    ]
    writer = RegistryWriter(registry)
    for head, batch in messages:
        writer.apply(head, batch)
    expected = snapshot(registry)
    assert len(expected["people"]) == 1  # R1 got the CURP later; R2 shares it
    for order in ([4, 3, 2, 1, 0], [2, 0, 4, 1, 3], [3, 1, 0, 4, 2]):
        clear(registry)
        for index in order:
            writer.apply(*messages[index])
        assert snapshot(registry) == expected, order


def test_baja_before_its_alta(registry: Engine) -> None:
    writer = RegistryWriter(registry)
    writer.apply(header("m2"), [item("R1", "BAJA", "2025-05-01", program=None, geo=None)])
    assert _spans(registry, "R1") == []  # nothing to close yet, but the item is kept
    assert _count(registry, "applied_items") == 1
    writer.apply(header("m1"), [item("R1", "ALTA", "2025-01-10")])
    assert _spans(registry, "R1") == [
        ("ACTIVA", "2025-01-10", "2025-05-01"),
        ("BAJA", "2025-05-01", None),
    ]
    assert _rows(registry, "source_records")[0]["active"] is False


def test_an_older_cambio_lands_in_the_past(registry: Engine) -> None:
    writer = RegistryWriter(registry)
    writer.apply(header("m1"), [item("R1", "ALTA", "2025-01-10", monto="100")])
    writer.apply(header("m3"), [item("R1", "CAMBIO", "2025-06-01", monto="300", nombre="Nuevo")])
    writer.apply(header("m2"), [item("R1", "CAMBIO", "2025-03-01", monto="200", nombre="Viejo")])
    rows = sorted(_rows(registry, "enrollments", reference_id="R1"), key=lambda r: r["valid_from"])
    assert [(str(r["valid_from"]), r["monto_centavos"]) for r in rows] == [
        ("2025-01-10", 10000),
        ("2025-03-01", 20000),
        ("2025-06-01", 30000),
    ]
    assert _rows(registry, "people")[0]["nombre"] == "NUEVO"  # the newest effective date wins


def test_two_items_with_one_curp_are_one_person(registry: Engine) -> None:
    writer = RegistryWriter(registry)
    writer.apply(header("m1"), [item("R1")])
    writer.apply(header("m1", agreement="CONV-OTRO-01"), [item("X9", program="U010")])
    assert _count(registry, "people") == 1
    links = record_links(registry, AGREEMENT, "R1") + record_links(registry, "CONV-OTRO-01", "X9")
    assert len({link.person_id for link in links}) == 1 and len(links) == 2
    assert {link.method for link in links} == {"curp"}
    report = person_by_curp(registry, "pegj800101hcsrrn01")
    assert report is not None
    assert {p["program_key"] for p in report.programs} == {PROGRAM, "U010"}


def test_a_record_that_learns_its_curp_joins_that_person(registry: Engine) -> None:
    writer = RegistryWriter(registry)
    writer.apply(header("m1"), [item("R1", curp="LOMA900202MDFPRR02")])
    writer.apply(header("m2"), [item("R2", curp=None)])
    assert _count(registry, "people") == 2
    writer.apply(header("m3"), [item("R2", "CAMBIO", "2025-02-01", curp="LOMA900202MDFPRR02")])
    assert _count(registry, "people") == 1  # the record-scoped person is gone, nothing points to it
    [link] = record_links(registry, AGREEMENT, "R2")
    assert link.method == "curp"
    assert {r["person_id"] for r in _rows(registry, "enrollments")} == {link.person_id}


def test_items_the_registry_cannot_apply_are_rejected_with_a_reason(registry: Engine) -> None:
    bad_pago = item("R2", "PAGO", program=None)
    unknown = {**item("R3"), "operation": "REVIVIR"}
    result = RegistryWriter(registry).apply(header(), [item("R1"), bad_pago, unknown])  # type: ignore[list-item]
    assert result.applied == 1
    assert [(r.reference_id, r.field) for r in result.rejected] == [
        ("R2", "benefit"),
        ("R3", "operation"),
    ]
    assert all(r.reason for r in result.rejected)
    assert (
        _count(registry, "applied_items") == 1
    )  # rejected items are not claimed: they can come back


def test_delivery_counts_chunks_and_items(registry: Engine) -> None:
    writer = RegistryWriter(registry)
    writer.apply(header("c1", chunk=1, chunks=3), [item("R1"), item("R2", curp=None)])
    writer.apply(header("c0", chunk=0, chunks=3), [item("R3", curp=None)])
    writer.apply(header("c0", chunk=0, chunks=3), [item("R3", curp=None)])  # redelivered
    [delivery] = _rows(registry, "deliveries", agreement_id=AGREEMENT)
    assert (delivery["first_chunk_index"], delivery["last_chunk_index"]) == (0, 1)
    assert (delivery["chunk_count"], delivery["items_applied"]) == (3, 3)


def test_rows_prepared_before_the_lock_give_the_same_state(registry: Engine) -> None:
    """``prepare(rows=True)`` builds the fast path's rows up front for a set of ALTAs; under the
    lock they are used only when every item is about a new record, else the items are split as
    usual (a set with other operations is split under the lock from the start)."""
    messages = [
        (header("m1"), [item("R1"), item("R2", curp="GOMC800101HDFRRR05")]),
        (  # R1 exists by now: this batch mixes the general path and the fast path
            header("m2", sent_at=dt.datetime(2025, 7, 1, tzinfo=dt.UTC)),
            [item("R1", "CAMBIO", "2025-02-01", nombre="Juan Pablo"), item("R3", curp=None)],
        ),
    ]
    writer = RegistryWriter(registry)
    for head, batch in messages:
        writer.apply(head, batch)
    expected = snapshot(registry)
    clear(registry)
    for head, batch in messages:
        prepared = writer.prepare(head, batch, rows=True)
        if all(it["operation"] == "ALTA" for it in batch):
            assert prepared.fresh is not None and len(prepared.fresh.people) == len(batch)
        else:  # changes and payments are usually about stored records: nothing built for them
            assert prepared.fresh is None
        with registry.begin() as conn:
            result = writer.apply_in(conn, head, prepared)
        assert result.applied == len(batch)
    assert snapshot(registry) == expected
