"""Who read my data (an ARCO request): ``sisi registry enrolled`` and ``paid`` record the registry
id of every person they show, and ``sisi audit reads CURP`` lists every personal-data read of that
person (its own look-up included: it is a read too), and nobody else's (SQLite, then PostgreSQL,
named to the CLI through ``SISI_DATABASE_URL`` as an operator would)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text
from sqlalchemy.engine import Engine

from hub.audit.chain import AuditEvent
from hub.audit.keys import load_or_create_hub_key
from hub.audit.pseudonym import curp_subject
from hub.audit.store import AuditLog
from hub.cli.main import cli
from hub.errors import SisiError
from hub.registry import ProgramEntry, RegistryWriter, seed_programs
from hub.settings import Settings
from hub.validation.curp import build_curp, check_digit
from hub.worker.audit_events import relink_events
from tests.hub.registry.conftest import PROGRAM, header, item

ANA = "LOMA900202MDFPRR0" + check_digit("LOMA900202MDFPRR0")
JUAN = "PEGJ800101HCSRRN0" + check_digit("PEGJ800101HCSRRN0")
NOBODY = "GOMC800101HDFRRR0" + check_digit("GOMC800101HDFRRR0")


@pytest.fixture
def env(registry: Engine, tmp_path: Path) -> dict[str, str]:
    seed_programs(registry, [ProgramEntry(PROGRAM, "Pensión para el Bienestar", "S176")])
    writer = RegistryWriter(registry)
    writer.apply(header("a"), [item("R1", "ALTA", "2025-01-15", curp=JUAN)])
    writer.apply(header("b"), [item("R2", "ALTA", "2025-02-28", curp=ANA, nombre="Ana")])
    writer.apply(header("c"), [item("R1", "BAJA", "2025-03-01", curp=JUAN, program=None)])
    writer.apply(header("p"), [item("R1", "PAGO", "2025-02-01", curp=JUAN, monto="1500.50")])
    writer.apply(header("q"), [item("R2", "PAGO", "2025-03-01", curp=ANA, nombre="Ana", geo=None)])
    writer.apply(header("r"), [item("R1", "PAGO", "2025-03-01", curp=JUAN, monto="1500.50")])
    return {
        "SISI_DATABASE_URL": registry.url.render_as_string(hide_password=False),
        "SISI_DATA_DIR": str(tmp_path / "datos"),
    }


def _run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, prog_name="sisi")


def _ok(env: dict[str, str], *args: str) -> dict[str, Any]:
    result = _run(env, *args, "--json")
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def _ids(registry: Engine) -> dict[str, str]:
    with registry.connect() as conn:
        return {curp: pid for pid, curp in conn.execute(text("select id, curp from people"))}


def _subjects(registry: Engine, sequence: int) -> list[str]:
    with registry.connect() as conn:
        rows = conn.execute(
            text("select person_id from audit_read_subjects where sequence = :s"), {"s": sequence}
        )
        return sorted(rows.scalars())


def _digest(env: dict[str, str], curp: str) -> str:
    """How a read names ``curp`` among its subjects (the hub key of ``env``'s data directory)."""
    settings = Settings(data_dir=Path(env["SISI_DATA_DIR"]))
    return curp_subject(load_or_create_hub_key(settings), curp)


def _reads(registry: Engine) -> int:
    with registry.connect() as conn:
        query = "select count(*) from audit_log where action = 'PERSONAL_DATA_READ'"
        return int(conn.execute(text(query)).scalar_one())


def test_a_list_read_records_every_person_it_shows(env: dict[str, str], registry: Engine) -> None:
    ids = _ids(registry)
    february = _ok(env, "registry", "enrolled", PROGRAM, "--month", "2025-02", "--purpose", "ver")
    assert sorted(p["person_id"] for p in february["people"]) == sorted(ids.values())
    assert _subjects(registry, february["audit_sequence"]) == sorted(
        [*ids.values(), *(_digest(env, curp) for curp in ids)]
    )
    march = _ok(env, "registry", "enrolled", PROGRAM, "--month", "2025-03", "--purpose", "ver")
    assert _subjects(registry, march["audit_sequence"]) == sorted([ids[ANA], _digest(env, ANA)])
    paid = _ok(
        env, "registry", "paid", PROGRAM, "--cvegeo", "07", "--year", "2025", "--purpose", "ASF"
    )
    assert paid["count"] == 3  # JUAN paid twice: one row for him
    assert _subjects(registry, paid["audit_sequence"]) == sorted(
        [*ids.values(), *(_digest(env, curp) for curp in ids)]
    )
    text_out = _run(env, "registry", "enrolled", PROGRAM, "--month", "2025-04", "--purpose", "ver")
    assert text_out.exit_code == 0 and "1 persona inscrita" in text_out.stdout
    with registry.connect() as conn:
        details = conn.execute(
            text("select details from audit_log where sequence = :s"),
            {"s": paid["audit_sequence"]},
        ).scalar_one()
    recorded = json.loads(details)
    # two people shown, named by id and by CURP digest: four rows under the chain
    assert (recorded["shown"], recorded["people"], recorded["payments"]) == ("2", "4", "3")
    assert len(recorded["people_sha256"]) == 64 and ANA not in details and JUAN not in details
    verify = _run(env, "audit", "verify")
    assert verify.exit_code == 0, verify.output


def test_reads_lists_every_read_of_that_person_and_nobody_elses(
    env: dict[str, str], registry: Engine
) -> None:
    ids = _ids(registry)
    january = _ok(env, "registry", "enrolled", PROGRAM, "--month", "2025-01", "--purpose", "ver")
    march = _ok(env, "registry", "enrolled", PROGRAM, "--month", "2025-03", "--purpose", "ver")
    paid = _ok(
        env, "registry", "paid", PROGRAM, "--cvegeo", "07", "--year", "2025", "--purpose", "ASF"
    )
    juan = _ok(env, "registry", "person", JUAN, "--purpose", "aclaración de pago 118")
    assert january["count"] == 1 and march["count"] == 1  # JUAN in January, ANA in March

    ana = _ok(env, "audit", "reads", ANA.lower(), "--purpose", "solicitud ARCO 7")
    assert (ana["curp"], ana["in_registry"], ana["person_id"]) == (ANA, True, ids[ANA])
    assert [(r["sequence"], r["how"], r["command"]) for r in ana["reads"]] == [
        (march["audit_sequence"], "lista", "registry enrolled"),
        (paid["audit_sequence"], "lista", "registry paid"),
        (ana["audit_sequence"], "persona", "audit reads"),  # this look-up is a read too
    ]
    first = ana["reads"][0]
    assert (first["purpose"], first["subject"], first["people"]) == (
        "ver",
        f"inscritos:{PROGRAM}:2025-03",
        1,
    )
    assert first["actor"] and first["recorded_at"].endswith("Z")

    mine = _ok(env, "audit", "reads", JUAN, "--purpose", "solicitud ARCO 8")
    assert [(r["sequence"], r["how"]) for r in mine["reads"]] == [
        (january["audit_sequence"], "lista"),
        (paid["audit_sequence"], "lista"),
        (juan["audit_sequence"], "persona"),
        (mine["audit_sequence"], "persona"),
    ]  # ANA's look-up of her own reads is not a read of JUAN

    shown = _run(env, "audit", "reads", JUAN, "--purpose", "solicitud ARCO 8")
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[0] == (
        f"datos personales de {JUAN} (persona {ids[JUAN]} del registro): 5 lecturas registradas"
    )
    assert (
        f"registry enrolled inscritos:{PROGRAM}:2025-01 (lista de 1 persona)  finalidad «ver»"
        in lines[1]
    )
    assert f"registry paid pagos:{PROGRAM}:07:2025 (lista de 2 personas)" in lines[2]
    assert (
        "registry person (consulta de la persona)  finalidad «aclaración de pago 118»" in (lines[3])
    )
    assert "consulta registrada en la bitácora (entrada " in shown.stderr
    verify = _run(env, "audit", "verify")
    assert verify.exit_code == 0, verify.output


def test_reads_of_a_curp_not_in_the_registry_lists_its_look_ups(
    env: dict[str, str], registry: Engine
) -> None:
    missing = _run(env, "registry", "person", NOBODY, "--purpose", "aclaración de pago 3")
    assert missing.exit_code != 0
    found = _ok(env, "audit", "reads", NOBODY, "--purpose", "solicitud ARCO 9")
    assert (found["in_registry"], found["person_id"]) == (False, None)
    assert [(r["how"], r["command"], r["subject"]) for r in found["reads"]] == [
        ("curp", "registry person", "sin-coincidencia"),
        ("curp", "audit reads", "sin-coincidencia"),
    ]
    with registry.connect() as conn:
        logged = list(conn.execute(text("select details from audit_log")).scalars())
    assert not any(NOBODY in details for details in logged)  # a keyed digest, as `person` does
    other = _ok(env, "audit", "reads", ANA, "--purpose", "solicitud ARCO 10")
    assert [r["how"] for r in other["reads"]] == ["persona"]  # only her own look-up
    shown = _run(env, "audit", "reads", NOBODY, "--purpose", "solicitud ARCO 9")
    assert shown.stdout.startswith(
        f"no hay en el registro una persona con la CURP {NOBODY}; búsquedas registradas de esa "
        "CURP: 3\n"
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("PEGJ800101", "--purpose", "solicitud ARCO"), "la CURP 'PEGJ800101' no es válida"),
        ((JUAN, "--purpose", " "), "la finalidad está vacía"),
        ((JUAN, "--purpose", "x"), "no dice para qué se consultan los datos"),
        ((JUAN, "--purpose", f"ARCO de {ANA}"), "contiene una CURP"),
    ],
)
def test_bad_requests_are_told_and_nothing_is_read(
    env: dict[str, str], registry: Engine, args: tuple[str, ...], expected: str
) -> None:
    result = _run(env, "audit", "reads", *args)
    assert result.exit_code != 0 and result.stdout == ""
    assert isinstance(result.exception, SisiError), result.output
    assert expected in result.exception.render()
    assert _reads(registry) == 0


def test_reads_needs_a_purpose(env: dict[str, str], registry: Engine) -> None:
    result = _run(env, "audit", "reads", JUAN)
    assert result.exit_code == 2
    assert "--purpose" in result.output
    assert _reads(registry) == 0


def test_reads_made_before_a_curp_correction_are_found_by_the_corrected_curp(
    env: dict[str, str], registry: Engine
) -> None:
    """A folio registered with a mistyped CURP is read (as a person, in a list), then a CAMBIO
    corrects the CURP: the record moves to the person of the right CURP and the old person is
    removed. The reads showed the data that is now hers: ``audit reads`` of the right CURP
    lists them; ``audit reads`` of the typo still finds the reads that named it."""
    typo = build_curp(JUAN[:16], "7" if JUAN[16] != "7" else "8")
    writer = RegistryWriter(registry)
    writer.apply(header("t1"), [item("R9", "ALTA", "2025-01-10", curp=typo)])
    person = _ok(env, "registry", "person", typo, "--purpose", "revisar expediente")
    listed = _ok(env, "registry", "enrolled", PROGRAM, "--month", "2025-02", "--purpose", "ver")
    assert person["person"]["curp"] == typo

    result = writer.apply(header("t2"), [item("R9", "CAMBIO", "2025-04-01", curp=JUAN)])
    [relink] = result.relinks
    assert relink.old_person_id in result.people_removed
    settings = Settings(data_dir=Path(env["SISI_DATA_DIR"]))
    log = AuditLog(registry, load_or_create_hub_key(settings))
    events: list[AuditEvent] = relink_events(
        "CONV-BIENESTAR-07", "t2", result.relinks, result.people_removed, log.reference_mask
    )
    log.append_many(events)  # as the hub's pipeline records the move

    juan = _ok(env, "audit", "reads", JUAN, "--purpose", "solicitud ARCO 7")
    found = {(r["sequence"], r["how"]) for r in juan["reads"]}
    assert (person["audit_sequence"], "persona") in found
    assert (listed["audit_sequence"], "lista") in found
    # the typo's reads: found by its digest although nobody in the registry holds it now
    typo_reads = _ok(env, "audit", "reads", typo, "--purpose", "solicitud ARCO 8")
    assert typo_reads["in_registry"] is False
    by_typo = {(r["sequence"], r["how"]) for r in typo_reads["reads"]}
    assert {(person["audit_sequence"], "persona"), (listed["audit_sequence"], "lista")} <= by_typo
    # and Ana, who was never this person, sees none of them
    ana = _ok(env, "audit", "reads", ANA, "--purpose", "solicitud ARCO 9")
    assert person["audit_sequence"] not in {r["sequence"] for r in ana["reads"]}
