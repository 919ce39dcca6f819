"""A folio first seen without CURP that later brings a CURP somebody already has.

Rule (hub.registry.linking): it joins the person who holds that CURP (the normal "CURP learned
later") unless its stored person clearly is someone else — another birth date or sex, or neither
the same first surname nor the same given name. Then the item is refused: nothing of the record
or of either person changes, and the agency gets a reason it can act on. On SQLite and
PostgreSQL (the ``registry`` fixture).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from hub.registry import ChangeItem, RegistryWriter
from tests.hub.registry.conftest import header, item, snapshot

LUCIA = "OEML600310MMCRNC74"  # born 1960-03-10, sex M


def _lucia(ref: str, operation: str, effective: str, *, curp: str | None = LUCIA) -> ChangeItem:
    made = item(ref, operation, effective, curp=curp, nombre="Lucía", primer_apellido="Ortega")
    made["person"].update(fecha_nacimiento=dt.date(1960, 3, 10), sexo="M")
    return made


def _antonio(ref: str, operation: str, effective: str, *, curp: str | None = None) -> ChangeItem:
    made = item(ref, operation, effective, curp=curp, nombre="Antonio", primer_apellido="Contreras")
    made["person"].update(fecha_nacimiento=dt.date(1960, 10, 8), sexo="H")
    return made


def _people(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("select count(*) from people")).scalar_one())


def _record(engine: Engine, ref: str) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(
            text("select person_id, curp from source_records where reference_id = :ref"),
            {"ref": ref},
        ).mappings()
        return dict(row.one())


def _holder(engine: Engine, curp: str) -> str:
    with engine.connect() as conn:
        found = conn.execute(text("select id from people where curp = :c"), {"c": curp})
        return str(found.scalar_one())


def test_another_person_without_curp_does_not_join_the_curps_holder(registry: Engine) -> None:
    writer = RegistryWriter(registry)
    writer.apply(header("a"), [_lucia("R1", "ALTA", "2025-01-10")])
    writer.apply(header("b"), [_antonio("R2", "ALTA", "2025-01-10")])  # no CURP yet
    before = snapshot(registry)
    assert _people(registry) == 2

    # the agency sends R2 with Lucía's CURP: with Antonio's data, or with Lucía's (a reused folio)
    for n, brought in enumerate(
        [_antonio("R2", "CAMBIO", "2025-03-01", curp=LUCIA), _lucia("R2", "CAMBIO", "2025-03-01")]
    ):
        result = writer.apply(header(f"c{n}"), [brought])
        assert (result.applied, result.duplicates, result.relinks) == (0, 0, ())
        [refused] = result.rejected
        assert result.refused == result.rejected
        assert (refused.reference_id, refused.field) == ("R2", "person.curp")
        assert refused.reason.startswith("la referencia R2 se registró sin CURP")
        assert f"quien ya tiene la CURP {LUCIA}" in refused.reason
        assert "use otra referencia" in refused.reason and "CAMBIO sin CURP" in refused.reason
        for name in ("ORTEGA", "LUCIA", "LUCÍA", "CONTRERAS", "ANTONIO", "1960"):
            assert name not in refused.reason.upper()
        assert snapshot(registry) == before  # nothing claimed, linked, moved or removed


def test_each_disagreement_is_enough_and_unknown_values_never_refuse(registry: Engine) -> None:
    writer = RegistryWriter(registry)
    writer.apply(header("a"), [_lucia("R1", "ALTA", "2025-01-10")])
    other_day = _lucia("R2", "ALTA", "2025-01-10", curp=None)
    other_day["person"]["fecha_nacimiento"] = dt.date(1960, 3, 11)
    other_sex = _lucia("R3", "ALTA", "2025-01-10", curp=None)
    other_sex["person"]["sexo"] = "H"
    renamed = _lucia("R4", "ALTA", "2025-01-10", curp=None)
    renamed["person"].update(nombre="Lucero", primer_apellido="Orta")
    unknown = _lucia("R5", "ALTA", "2025-01-10", curp=None)  # nothing but the names known
    unknown["person"].update(fecha_nacimiento=None, sexo=None, nombre="Lucy")
    writer.apply(header("b", items=4), [other_day, other_sex, renamed, unknown])

    learned = [_lucia(ref, "CAMBIO", "2025-03-01") for ref in ("R2", "R3", "R4", "R5")]
    result = writer.apply(header("c", items=4), learned)
    assert sorted(r.reference_id for r in result.rejected) == ["R2", "R3", "R4"]
    assert result.applied_ids == ("R5",)
    [relink] = result.relinks
    assert (relink.reference_id, relink.old_curp, relink.new_curp) == ("R5", None, LUCIA)
    assert _record(registry, "R5") == {"person_id": _holder(registry, LUCIA), "curp": LUCIA}
    assert _record(registry, "R2")["curp"] is None


def test_the_same_person_learns_her_curp_and_joins_as_before(registry: Engine) -> None:
    writer = RegistryWriter(registry)
    writer.apply(header("a"), [_lucia("R1", "ALTA", "2025-01-10")])
    writer.apply(header("b"), [_lucia("R2", "ALTA", "2025-01-10", curp=None)])
    writer.apply(header("p"), [_lucia("R2", "PAGO", "2025-02-01", curp=None)])
    scoped = _record(registry, "R2")["person_id"]
    assert _people(registry) == 2

    result = writer.apply(header("c"), [_lucia("R2", "CAMBIO", "2025-03-01")])
    assert result.applied == 1 and result.rejected == ()
    [relink] = result.relinks
    holder = _holder(registry, LUCIA)
    assert (relink.old_person_id, relink.new_person_id, relink.old_curp) == (scoped, holder, None)
    assert result.people_removed == frozenset({scoped})
    assert _people(registry) == 1
    with registry.connect() as conn:
        owners = conn.execute(
            text(
                "select person_id from benefits_paid where reference_id = 'R2' union "
                "select person_id from enrollments where reference_id = 'R2'"
            )
        ).all()
    assert owners == [(holder,)]


def test_wrong_data_corrected_first_lets_the_curp_join(registry: Engine) -> None:
    """What the refusal tells the agency to do works: a CAMBIO without CURP, then the CURP."""
    writer = RegistryWriter(registry)
    writer.apply(header("a"), [_lucia("R1", "ALTA", "2025-01-10")])
    typo = _lucia("R2", "ALTA", "2025-01-10", curp=None)
    typo["person"]["fecha_nacimiento"] = dt.date(1960, 10, 3)  # day and month swapped
    writer.apply(header("b"), [typo])
    assert writer.apply(header("c"), [_lucia("R2", "CAMBIO", "2025-03-01")]).rejected != ()

    fixed = writer.apply(header("d"), [_lucia("R2", "CAMBIO", "2025-02-01", curp=None)])
    assert fixed.applied == 1
    result = writer.apply(header("c"), [_lucia("R2", "CAMBIO", "2025-03-01")])
    assert result.applied == 1 and result.rejected == () and len(result.relinks) == 1
    assert _record(registry, "R2") == {"person_id": _holder(registry, LUCIA), "curp": LUCIA}
