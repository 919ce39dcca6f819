"""A folio (reference_id) whose items bring another CURP: a correction, or someone else.

Rule (hub.registry.linking): only an ALTA or CAMBIO about the same person (same birth date and
sex, the same first surname or given name) may bring another CURP; a newer one corrects it (the
record is relinked). Anything else is refused: nothing of the record or of either person changes,
and the agency gets a reason it can act on. On SQLite and PostgreSQL (the ``registry`` fixture).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from hub.registry import ChangeItem, RegistryWriter, person_by_curp
from hub.validation.curp import build_curp, validate_curp
from tests.hub.registry.conftest import header, item

LUCIA = "OEML600310MMCRNC74"
ANTONIO = "COMA601008HDFNRN80"
JUAN = "PEGJ800101HCSRRN01"


def _lucia(ref: str, operation: str, effective: str, **extra: Any) -> ChangeItem:
    made = item(ref, operation, effective, curp=LUCIA, nombre="Lucía", primer_apellido="Ortega")
    made["person"].update(
        segundo_apellido="Mendoza",
        fecha_nacimiento=dt.date(1960, 3, 10),
        sexo="M",
        entidad_nacimiento="MC",
    )
    made["person"].update(extra)
    return made


def _antonio(ref: str, operation: str, effective: str, **kwargs: Any) -> ChangeItem:
    made = item(
        ref, operation, effective, curp=ANTONIO, nombre="Antonio", primer_apellido="Contreras"
    )
    made["person"].update(
        segundo_apellido="Moreno", fecha_nacimiento=dt.date(1960, 10, 8), sexo="H"
    )
    made.update(kwargs)
    return made


def _record(engine: Engine, ref: str) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "select person_id, curp, cve_ent, cve_mun, cve_loc, version, link_version "
                "from source_records where reference_id = :ref"
            ),
            {"ref": ref},
        ).mappings()
        return dict(row.one())


def _summary(engine: Engine, curp: str) -> tuple[Any, ...] | None:
    report = person_by_curp(engine, curp, today=dt.date(2025, 12, 31))
    if report is None:
        return None
    return (
        report.person["id"],
        report.person["nombre"],
        [(p["program_key"], p["status"]) for p in report.programs],
        [(h["status"], h["valid_from"], h["valid_to"]) for h in report.history],
        [(p["fecha_beneficio"], p["monto_centavos"]) for p in report.payments],
    )


def test_the_walkthrough_curps_are_valid() -> None:
    assert validate_curp(LUCIA) == [] and validate_curp(ANTONIO) == []


def test_a_pago_with_another_persons_curp_is_refused_and_changes_nothing(
    registry: Engine,
) -> None:
    writer = RegistryWriter(registry)
    writer.apply(header("a"), [_lucia("S176-0000001", "ALTA", "2025-01-10")])
    writer.apply(header("p1"), [_lucia("S176-0000001", "PAGO", "2025-02-01", monto="100")])
    before = _summary(registry, LUCIA)
    record = _record(registry, "S176-0000001")
    assert before is not None and before[2] == [("S176", "ACTIVA")]

    pago = _antonio("S176-0000001", "PAGO", "2025-03-01")
    result = writer.apply(header("p2"), [pago])

    assert (result.applied, result.duplicates, result.relinks) == (0, 0, ())
    [refused] = result.rejected
    assert result.refused == result.rejected
    assert refused.reference_id == "S176-0000001"
    assert refused.field == "person.curp"
    assert "la referencia S176-0000001 ya corresponde a otra persona" in refused.reason
    assert f"CURP registrada {LUCIA}" in refused.reason
    assert "use otra referencia" in refused.reason and "envíe un CAMBIO" in refused.reason
    assert "ORTEGA" not in refused.reason.upper() and "ANTONIO" not in refused.reason.upper()
    assert _summary(registry, LUCIA) == before
    assert _summary(registry, ANTONIO) is None
    assert _record(registry, "S176-0000001") == record
    with registry.connect() as conn:
        ledger = conn.execute(
            text("select count(*) from applied_items where message_id = 'p2'")
        ).scalar_one()
    assert ledger == 0  # not claimed: a redelivery is judged again, and refused again
    again = writer.apply(header("p2"), [pago])
    assert [r.reference_id for r in again.rejected] == ["S176-0000001"]
    assert (again.applied, again.duplicates) == (0, 0)
    assert _summary(registry, LUCIA) == before


def test_a_refused_item_does_not_stop_the_others_of_its_change_set(registry: Engine) -> None:
    writer = RegistryWriter(registry)
    writer.apply(header("a"), [_lucia("S176-0000001", "ALTA", "2025-01-10")])
    result = writer.apply(
        header("b", items=2),
        [
            _antonio("S176-0000001", "PAGO", "2025-03-01"),
            _antonio("S176-0000002", "ALTA", "2025-03-01"),
        ],
    )
    assert result.applied_ids == ("S176-0000002",)
    assert [r.reference_id for r in result.rejected] == ["S176-0000001"]
    antonio = _summary(registry, ANTONIO)
    assert antonio is not None and antonio[2] == [("S176", "ACTIVA")]
    lucia = _summary(registry, LUCIA)
    assert lucia is not None and lucia[4] == []


def test_an_older_alta_for_another_person_is_refused_and_splices_nothing(
    registry: Engine,
) -> None:
    writer = RegistryWriter(registry)
    writer.apply(
        header("a", sent_at=dt.datetime(2025, 3, 1, tzinfo=dt.UTC)),
        [_lucia("S176-0000001", "ALTA", "2025-03-01")],
    )
    before = _summary(registry, LUCIA)
    record = _record(registry, "S176-0000001")

    older = _antonio("S176-0000001", "ALTA", "2025-01-01")
    older["geography"] = {"cve_ent": "09", "cve_mun": "015", "cve_loc": "0001", "domicilio": "X"}
    result = writer.apply(header("b", sent_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC)), [older])

    assert result.applied == 0
    [refused] = result.rejected
    assert "ya corresponde a otra persona" in refused.reason
    assert _summary(registry, LUCIA) == before
    assert _record(registry, "S176-0000001") == record
    assert _summary(registry, ANTONIO) is None


def test_a_corrected_homoclave_relinks_the_folio_as_before(registry: Engine) -> None:
    typo = build_curp(JUAN[:16], "7")
    writer = RegistryWriter(registry)
    writer.apply(header("a"), [item("R1", "ALTA", "2025-01-10", curp=typo)])
    writer.apply(header("p"), [item("R1", "PAGO", "2025-02-01", curp=typo, monto="10")])
    old = _summary(registry, typo)
    assert old is not None

    # a PAGO does not correct a CURP, even the same person's: it is refused, with what to do
    pago = writer.apply(header("q"), [item("R1", "PAGO", "2025-03-01", curp=JUAN, monto="20")])
    [refused] = pago.rejected
    assert refused.reason.startswith("un PAGO no corrige la CURP de la referencia R1")
    assert "envíe antes un CAMBIO" in refused.reason
    assert _summary(registry, typo) == old

    result = writer.apply(header("c"), [item("R1", "CAMBIO", "2025-04-01", curp=JUAN)])
    assert result.applied == 1 and result.rejected == ()
    [relink] = result.relinks
    assert (relink.reference_id, relink.old_curp, relink.new_curp) == ("R1", typo, JUAN)
    assert relink.old_person_id == old[0]
    assert result.people_removed == frozenset({old[0]})
    assert _summary(registry, typo) is None
    now = _summary(registry, JUAN)
    assert now is not None
    assert now[2] == [("S176", "ACTIVA")]
    assert now[4] == [(dt.date(2025, 2, 1), 1000)]
    with registry.connect() as conn:
        owners = conn.execute(
            text(
                "select person_id from benefits_paid where reference_id = 'R1' union "
                "select person_id from enrollments where reference_id = 'R1'"
            )
        ).all()
    assert owners == [(now[0],)]
    assert _record(registry, "R1")["curp"] == JUAN

    # now the PAGO goes through with the registered CURP; an older CAMBIO with the typo is the
    # same person: applied, and the newer correction stands
    writer.apply(header("q2"), [item("R1", "PAGO", "2025-03-01", curp=JUAN, monto="20")])
    late = writer.apply(
        header("old", sent_at=dt.datetime(2025, 1, 20, tzinfo=dt.UTC)),
        [item("R1", "CAMBIO", "2025-01-20", curp=typo)],
    )
    assert late.applied == 1 and late.relinks == () and late.rejected == ()
    assert _record(registry, "R1")["curp"] == JUAN
    after = _summary(registry, JUAN)
    assert after is not None and after[4] == [
        (dt.date(2025, 2, 1), 1000),
        (dt.date(2025, 3, 1), 2000),
    ]
    assert _summary(registry, typo) is None


def test_a_correction_needs_the_same_birth_date_sex_and_a_name(registry: Engine) -> None:
    typo = build_curp(JUAN[:16], "7")
    writer = RegistryWriter(registry)
    writer.apply(header("a"), [item("R1", "ALTA", "2025-01-10", curp=typo)])
    # the same CURP stem, but the item declares another given name and first surname
    renamed = item("R1", "CAMBIO", "2025-04-01", curp=JUAN, nombre="Pedro", primer_apellido="Gil")
    assert [r.reference_id for r in writer.apply(header("b"), [renamed]).rejected] == ["R1"]
    # another birth date (declared and encoded in the new CURP)
    other = build_curp("PEGJ800102HCSRRN", "0")
    born = item("R1", "CAMBIO", "2025-04-01", curp=other)
    born["person"]["fecha_nacimiento"] = dt.date(1980, 1, 2)
    assert [r.reference_id for r in writer.apply(header("c"), [born]).rejected] == ["R1"]
    # the same first surname is enough with the same birth date and sex
    nickname = item("R1", "CAMBIO", "2025-04-01", curp=JUAN, nombre="Juan Carlos")
    result = writer.apply(header("d"), [nickname])
    assert result.rejected == () and len(result.relinks) == 1
