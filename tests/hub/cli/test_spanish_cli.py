"""``sisi`` speaks Spanish: help pages, the help option, and every kind of usage error."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from hub.cli.main import LazyGroup, cli, main
from hub.cli.spanish import _first_sentence
from hub.errors import SisiError

ENGLISH = (
    "Usage:",
    "Options:",
    "Commands:",
    "Show this message",
    "Try '",
    "Error:",
    "Missing option",
    "Missing argument",
    "No such",
    "Invalid value",
    "is not one of",
    "default:",
    "required]",
)


def _run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="sisi")


def _assert_spanish(text: str) -> None:
    found = [word for word in ENGLISH if word in text]
    assert not found, f"texto en inglés {found} en:\n{text}"


def test_root_help_is_spanish() -> None:
    result = _run("--help")
    assert result.exit_code == 0
    assert result.stdout.startswith("Uso: sisi [OPCIONES] COMANDO [ARGS]...")
    assert "Opciones:" in result.stdout and "Comandos:" in result.stdout
    assert "--help     Muestra esta ayuda y termina." in result.stdout
    assert "Muestra la versión y termina." in result.stdout
    _assert_spanish(result.output)


@pytest.mark.parametrize(
    "args",
    [
        ("registry", "person", "--help"),
        ("audit", "list", "--help"),
        ("synth", "padron", "--help"),
        ("produce", "--help"),
        ("outbox", "status", "--help"),
        ("quarantine", "--help"),
    ],
)
def test_nested_help_is_spanish(args: tuple[str, ...]) -> None:
    result = _run(*args)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Uso: sisi {' '.join(args[:-1])} [OPCIONES]")
    assert "Muestra esta ayuda y termina." in result.stdout
    _assert_spanish(result.output)


def test_option_extras_are_spanish() -> None:
    person = _run("registry", "person", "--help").stdout
    assert "[obligatoria]" in person
    audit = _run("audit", "list", "--help").stdout
    assert "[por defecto: 20;" in audit


def test_version_is_spanish() -> None:
    result = _run("--version")
    assert result.exit_code == 0 and result.stdout.startswith("sisi, versión ")


def test_missing_option_names_it_and_says_what_to_do() -> None:
    result = _run("registry", "person", "LOAA800101HDFPRL09")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "Uso: sisi registry person [OPCIONES] CURP",
        "error: falta la opción --purpose (finalidad de la consulta). Qué hacer: agregue"
        " --purpose con su valor; vea 'sisi registry person --help'.",
    ]
    _assert_spanish(result.output)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("audit", "reads", "LOAA800101HDFPRL09"),
            "falta la opción --purpose (finalidad de la consulta, p. ej. «solicitud ARCO 118»)",
        ),
        (
            ("quarantine", "replay", "44"),
            "falta la opción --purpose (por qué se reenvía, p. ej. 'convenio registrado de nuevo')",
        ),
        (
            ("audit", "rotate-key"),
            "falta la opción --motivo (por qué se rota la llave, p. ej. «rotación anual»)",
        ),
        (
            ("registry", "person", "LOAA800101HDFPRL09"),
            "falta la opción --purpose (finalidad de la consulta)",
        ),
    ],
)
def test_missing_option_description_is_whole(args: tuple[str, ...], expected: str) -> None:
    """The description stops at the end of the first sentence, not at "p. ej."."""
    result = _run(*args)
    assert result.exit_code == 2
    assert f"error: {expected}. Qué hacer: agregue" in result.stderr


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("Finalidad de la consulta (queda en la bitácora).", "finalidad de la consulta"),
        ("Sólo esta acción (p. ej. AGREEMENT_CHANGED, CONTRACT_REGISTERED).", "sólo esta acción"),
        ("Mes, p. ej. 2026-11. Por defecto el actual.", "mes, p. ej. 2026-11"),
        ("Según el art. 19 de la ley. Otra frase.", "según el art. 19 de la ley"),
        ("Oficio núm. 3 del convenio.", "oficio núm. 3 del convenio"),
        ("Versión 1.2 del esquema. Otra.", "versión 1.2 del esquema"),
        ("Ruta del archivo.\n  Se lee completo.", "ruta del archivo"),
        ("CURP de la persona. Otra.", "CURP de la persona"),
    ],
)
def test_first_sentence_knows_abbreviations(text: str, first: str) -> None:
    assert _first_sentence(text) == first


def _all_commands(group: click.Group, ctx: click.Context) -> list[click.Command]:
    found: list[click.Command] = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if isinstance(command, click.Group):
            found.extend(_all_commands(command, click.Context(command, parent=ctx)))
        elif command is not None:
            found.append(command)
    return found


def test_every_option_description_reads_whole() -> None:
    """No option's short description ends on an abbreviation or leaves a parenthesis open."""
    commands = _all_commands(cli, click.Context(cli))
    assert len(commands) > 20
    for command in commands:
        for param in command.params:
            if not isinstance(param, click.Option) or not param.help:
                continue
            about = _first_sentence(param.help)
            where = f"{command.name} {param.opts}: {about!r}"
            assert about.count("(") == about.count(")"), where
            assert about.count("«") == about.count("»"), where
            last = about.split()[-1]
            assert len(last.strip(",;:«»'\"")) > 1 or last[-1].isdigit(), where


def test_missing_argument() -> None:
    result = _run("registry", "person", "--purpose", "auditoría")
    assert result.exit_code == 2
    assert "error: falta el argumento CURP. Qué hacer: escríbalo después del comando:" in (
        result.stderr
    )
    assert "sisi registry person [OPCIONES] CURP" in result.stderr
    _assert_spanish(result.output)


def test_unknown_option_suggests_the_close_one() -> None:
    result = _run("registry", "person", "X", "--purpos", "p")
    assert result.exit_code == 2
    assert (
        "error: 'sisi registry person' no tiene la opción --purpos (¿quiso decir --purpose?)."
        " Qué hacer: corríjala o quítela; las opciones válidas están en"
        " 'sisi registry person --help'." in result.stderr
    )
    _assert_spanish(result.output)


def test_unknown_option_at_the_root() -> None:
    result = _run("--x")
    assert result.exit_code == 2
    assert "error: 'sisi' no tiene la opción --x." in result.stderr
    _assert_spanish(result.output)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("nope",), "error: 'sisi' no tiene el comando 'nope'. Qué hacer: los comandos"),
        (("registy",), "error: 'sisi' no tiene el comando 'registy' (¿quiso decir 'registry'?)."),
        (("registry", "nope"), "error: 'sisi registry' no tiene el comando 'nope'."),
    ],
)
def test_unknown_command(args: tuple[str, ...], expected: str) -> None:
    result = _run(*args)
    assert result.exit_code == 2
    assert expected in result.stderr
    _assert_spanish(result.output)


def test_bad_choice_lists_the_choices() -> None:
    result = _run("quarantine", "list", "--status", "foo")
    assert result.exit_code == 2
    assert (
        "error: valor inválido para --status: 'foo' no es una de: PENDIENTE, REENVIADO, INFORMADO,"
        " RESUELTO."
        " Qué hacer: escriba uno de esos valores; vea 'sisi quarantine list --help'."
        in result.stderr
    )
    _assert_spanish(result.output)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("audit", "list", "--limit", "0"), "--limit: 0 está fuera del rango: debe estar entre"),
        (("audit", "list", "--limit", "abc"), "--limit: 'abc' no es un número entero."),
        (
            ("synth", "padron", "--people", "1", "--out", "x.csv", "--error-rate", "2"),
            "--error-rate: 2.0 está fuera del rango: debe estar entre 0 y 1.",
        ),
        (("produce", "--timeout", "0"), "--timeout: 0.0 está fuera del rango: debe ser mayor o"),
        (("quarantine", "show", "abc"), "valor inválido para ENTRY_ID: 'abc' no es un número"),
    ],
)
def test_bad_numbers(args: tuple[str, ...], expected: str) -> None:
    result = _run(*args)
    assert result.exit_code == 2
    assert expected in result.stderr
    _assert_spanish(result.output)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("audit", "list", "--action"), "error: a la opción --action le falta su valor."),
        (("registry", "person", "X", "--json=1"), "error: la opción --json no lleva valor."),
        (("registry", "person", "X", "Y", "--purpose", "revisión"), "error: sobra el argumento Y."),
    ],
)
def test_misused_options_and_extra_arguments(args: tuple[str, ...], expected: str) -> None:
    result = _run(*args)
    assert result.exit_code == 2
    assert expected in result.stderr
    _assert_spanish(result.output)


def test_path_errors_are_spanish(tmp_path: Path) -> None:
    group = LazyGroup("sisi")

    @group.command("leer")
    @click.argument("archivo", type=click.Path(exists=True, dir_okay=False))
    def leer(archivo: str) -> None:
        click.echo(archivo)

    missing = CliRunner().invoke(group, ["leer", str(tmp_path / "no-hay.csv")], prog_name="sisi")
    assert missing.exit_code == 2
    assert f"valor inválido para ARCHIVO: el archivo '{tmp_path / 'no-hay.csv'}' no existe" in (
        missing.stderr
    )
    folder = CliRunner().invoke(group, ["leer", str(tmp_path)], prog_name="sisi")
    assert "es un directorio y aquí va un archivo" in folder.stderr
    _assert_spanish(missing.output + folder.output)


def test_main_prints_the_same(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["registry", "person", "X"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "error: falta la opción --purpose" in err
    _assert_spanish(err)


@pytest.mark.parametrize(
    ("message", "rendered"),
    [
        ("no existe la CURP X", "no existe la CURP X. Qué hacer: revísela."),
        ("no existe la CURP X.", "no existe la CURP X. Qué hacer: revísela."),
        ("¿existe la CURP X?", "¿existe la CURP X? Qué hacer: revísela."),
        ("falta la CURP…", "falta la CURP… Qué hacer: revísela."),
    ],
)
def test_error_render_has_one_period_before_what_to_do(message: str, rendered: str) -> None:
    assert SisiError(message, hint="revísela.").render() == rendered
    assert SisiError(message).render() == message


def test_declining_a_confirmation_says_cancelado() -> None:
    group = LazyGroup("sisi")

    @group.command("borrar")
    def borrar() -> None:
        click.confirm("¿Borrar?", abort=True)

    result = CliRunner().invoke(group, ["borrar"], input="n\n", prog_name="sisi")
    assert result.exit_code == 130
    assert result.stderr == "cancelado.\n"
    assert "Aborted" not in result.output
