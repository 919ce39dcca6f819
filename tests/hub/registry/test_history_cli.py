"""``sisi registry enrolled`` and ``sisi registry paid``: the two history questions from the command
line, in Spanish, audited, with clear errors for a bad program, month, territory or year.

The registry is the ``registry`` fixture's database (SQLite, then PostgreSQL), named to the CLI
through ``SISI_DATABASE_URL`` as an operator would.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text
from sqlalchemy.engine import Engine

from hub.cli.main import cli
from hub.errors import SisiError
from hub.registry import ProgramEntry, RegistryWriter, seed_programs
from tests.hub.registry.conftest import PROGRAM, header, item

ANA = "LOMA900202MDFPRR02"
JUAN = "PEGJ800101HCSRRN01"


@pytest.fixture
def env(registry: Engine, tmp_path: Path) -> dict[str, str]:
    seed_programs(registry, [ProgramEntry(PROGRAM, "Pensión para el Bienestar", "S176")])
    writer = RegistryWriter(registry)
    writer.apply(header("a"), [item("R1", "ALTA", "2025-01-15", curp=JUAN)])
    writer.apply(header("b"), [item("R2", "ALTA", "2025-02-28", curp=ANA, nombre="Ana")])
    writer.apply(header("c"), [item("R1", "BAJA", "2025-03-01", curp=JUAN, program=None)])
    writer.apply(header("d"), [item("R1", "ALTA", "2025-05-31", curp=JUAN)])
    writer.apply(header("p"), [item("R1", "PAGO", "2025-02-01", curp=JUAN, monto="1500.50")])
    writer.apply(header("q"), [item("R2", "PAGO", "2025-03-01", curp=ANA, nombre="Ana", geo=None)])
    return {
        "SISI_DATABASE_URL": registry.url.render_as_string(hide_password=False),
        "SISI_DATA_DIR": str(tmp_path / "datos"),
    }


def _run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, prog_name="sisi")


def _error(result: Result) -> str:
    assert isinstance(result.exception, SisiError), result.output
    return result.exception.render()


def _reads(registry: Engine) -> list[tuple[str, str]]:
    with registry.connect() as conn:
        rows = conn.execute(
            text(
                "select purpose, details from audit_log"
                " where action = 'PERSONAL_DATA_READ' order by sequence"
            )
        ).all()
    return [(row.purpose, row.details) for row in rows]


def test_who_was_enrolled_in_a_month(env: dict[str, str], registry: Engine) -> None:
    months = {}
    for month in ("2025-01", "2025-02", "2025-03", "2025-04", "2025-05"):
        result = _run(env, "registry", "enrolled", PROGRAM, "--month", month, "--purpose", "ver")
        assert result.exit_code == 0, result.output
        months[month] = [p["curp"] for p in json.loads(_json(env, month))["people"]]
    assert months == {
        "2025-01": [JUAN],
        "2025-02": [ANA, JUAN],
        "2025-03": [ANA],  # JUAN's BAJA of 1 March: not enrolled a single day of March
        "2025-04": [ANA],
        "2025-05": [ANA, JUAN],  # back on 31 May
    }
    text_out = _run(env, "registry", "enrolled", "s176", "--month", "2025-02", "--purpose", "ver")
    assert text_out.stdout.splitlines()[0] == (
        "S176 (Pensión para el Bienestar), 2025-02: 2 personas inscritas"
    )
    assert f"  {ANA}  PEREZ GARCIA ANA  [" in text_out.stdout
    assert "consulta registrada en la bitácora (entrada " in text_out.stderr
    reads = _reads(registry)
    assert len(reads) == 11  # each read is audited, text or JSON
    assert '"subject":"inscritos:S176:2025-02"' in reads[-1][1]
    assert JUAN not in reads[-1][1] and ANA not in reads[-1][1]


def _json(env: dict[str, str], month: str) -> str:
    result = _run(
        env, "registry", "enrolled", PROGRAM, "--month", month, "--purpose", "ver", "--json"
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def test_everything_a_program_paid_in_a_locality_in_a_year(
    env: dict[str, str], registry: Engine
) -> None:
    args = ("registry", "paid", PROGRAM, "--year", "2025", "--purpose", "auditoría ASF")
    result = _run(env, *args, "--cvegeo", "070890001", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert (document["count"], document["total"]) == (2, "3000.50")
    assert [(p["curp"], p["monto"], p["cvegeo"]) for p in document["payments"]] == [
        (JUAN, "1500.50", "070890001"),
        (ANA, "1500.00", "070890001"),  # no geography: where ANA lived on 1 March
    ]
    text_out = _run(env, *args, "--cvegeo", "07089")
    assert text_out.stdout.startswith(
        "S176 (Pensión para el Bienestar), 07089, 2025: 2 pagos por $3,000.50\n"
    )
    assert f"  2025-02-01  {JUAN}  $    1,500.50  070890001" in text_out.stdout
    nothing = _run(
        env, "registry", "paid", PROGRAM, "--year", "2024", "--purpose", "ver", "--cvegeo", "07"
    )
    assert nothing.stdout == "S176 (Pensión para el Bienestar), 07, 2024: 0 pagos por $0.00\n"
    assert [purpose for purpose, _ in _reads(registry)] == ["auditoría ASF"] * 2 + ["ver"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("enrolled", "S17", "--month", "2025-02"),
            "campo 'PROGRAMA': el programa 'S17' no está en el catálogo del registro."
            " Qué hacer: ¿quiso decir S176?",
        ),
        (
            ("paid", "ZZZ", "--cvegeo", "07", "--year", "2025"),
            "campo 'PROGRAMA': el programa 'ZZZ' no está en el catálogo del registro."
            " Qué hacer: use una clave del catálogo: S176",
        ),
        (("enrolled", PROGRAM, "--month", "2025-13"), "campo '--month': mes inválido '2025-13'"),
        (("enrolled", PROGRAM, "--month", "marzo"), "campo '--month': mes inválido 'marzo'"),
        (("paid", PROGRAM, "--cvegeo", "7", "--year", "2025"), "campo '--cvegeo': CVEGEO inválida"),
        (("paid", PROGRAM, "--cvegeo", "07", "--year", "0"), "campo '--year': año inválido 0"),
        (("enrolled", PROGRAM, "--month", "2025-02", "--purpose", " "), "la finalidad está vacía"),
    ],
)
def test_bad_questions_are_told_and_nothing_is_read(
    env: dict[str, str], registry: Engine, args: tuple[str, ...], expected: str
) -> None:
    if "--purpose" not in args:
        args = (*args, "--purpose", "prueba")
    result = _run(env, "registry", *args)
    assert result.exit_code != 0
    assert expected in _error(result)
    assert _reads(registry) == []


def test_a_year_that_is_not_a_number_is_told_in_spanish(env: dict[str, str]) -> None:
    result = CliRunner().invoke(
        cli,
        ["registry", "paid", PROGRAM, "--cvegeo", "07", "--year", "dos mil", "--purpose", "ver"],
        env=env,
    )
    assert result.exit_code == 2
    assert "--year: 'dos mil' no es un número entero." in result.output


def test_help_is_spanish(env: dict[str, str]) -> None:
    for command in ("enrolled", "paid"):
        result = _run(env, "registry", command, "--help")
        assert result.exit_code == 0
        assert result.stdout.startswith(f"Uso: sisi registry {command} [OPCIONES] PROGRAMA")
        assert "(consulta\n  auditada)" in result.stdout or "(consulta auditada)" in result.stdout


def test_a_payment_sent_again_in_another_delivery_is_flagged(
    env: dict[str, str], registry: Engine
) -> None:
    again = item("R1", "PAGO", "2025-02-01", curp=JUAN, monto="1500.50")
    RegistryWriter(registry).apply(header("p-otra-vez", transaction="tx-2"), [again])
    args = ("registry", "paid", PROGRAM, "--cvegeo", "07", "--year", "2025", "--purpose", "ver")
    result = _run(env, *args)
    assert result.exit_code == 0, result.output
    assert "3 pagos por $4,501.00" in result.stdout
    assert result.stderr.startswith(
        "aviso: 1 pago(s) aparecen más de una vez (mismo folio, fecha, tipo y monto en mensajes"
        " distintos); están sumados en el total."
    )
    assert json.loads(_run(env, *args, "--json").stdout)["repeated"] == 1


def test_a_purpose_naming_a_curp_shows_nothing(env: dict[str, str], registry: Engine) -> None:
    result = _run(
        env, "registry", "enrolled", PROGRAM, "--month", "2025-02", "--purpose", f"ARCO {JUAN}"
    )
    assert result.exit_code != 0
    assert "CURP" in _error(result) and JUAN not in _error(result)
    assert result.stdout == "" and _reads(registry) == []


def test_a_program_known_only_by_its_key_is_named_once(
    env: dict[str, str], registry: Engine
) -> None:
    RegistryWriter(registry).apply(header("u"), [item("R9", curp=None, program="U010")])
    result = _run(env, "registry", "enrolled", "U010", "--month", "2025-01", "--purpose", "ver")
    assert result.stdout.splitlines()[0] == "U010, 2025-01: 1 persona inscrita"
