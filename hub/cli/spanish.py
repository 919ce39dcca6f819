"""The ``sisi`` command line in Spanish: help headings, the help option, and usage errors.

click writes its own texts in English ("Usage:", "Options:", "Show this message and exit.",
"Error: Missing option ..."). Agencies and operators read the CLI, so every command reached from
``sisi`` is passed through :func:`hispanize` (help option, formatter, usage metavars) and every
usage error through :func:`spanish_error`, which names the option or argument and says what to
do in the same ``mensaje. Qué hacer: ...`` form as :func:`hub.errors.with_hint`, which also
shapes every ``SisiError``.

Type errors (``Choice``, ``IntRange``, ``Path``...) reach us as click's English sentence; the
known shapes are translated, anything else is kept after a Spanish "valor inválido para ...".
"""

from __future__ import annotations

import ast
import difflib
import re
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import IO, Any

import click

from hub.errors import with_hint

__all__ = [
    "HELP_TEXT",
    "SpanishClickError",
    "SpanishContext",
    "SpanishHelpFormatter",
    "SpanishUsageError",
    "hispanize",
    "spanish_error",
]

HELP_TEXT = "Muestra esta ayuda y termina."
VERSION_HELP = "Muestra la versión y termina."
VERSION_MESSAGE = "%(prog)s, versión %(version)s"

_HEADINGS = {"Options": "Opciones", "Commands": "Comandos", "Arguments": "Argumentos"}
_OPTIONS_METAVAR = ("[OPTIONS]", "[OPCIONES]")
_SUBCOMMAND_METAVAR = ("COMMAND [ARGS]...", "COMANDO [ARGS]...")
_CHAIN_METAVAR = (
    "COMMAND1 [ARGS]... [COMMAND2 [ARGS]...]...",
    "COMANDO1 [ARGS]... [COMANDO2 [ARGS]...]...",
)
#: the metavar an option shows in help, by its type's name ("TEXT" -> "TEXTO")
_METAVARS = {
    "text": "TEXTO",
    "integer": "ENTERO",
    "integer range": "ENTERO",
    "float": "NÚMERO",
    "float range": "NÚMERO",
    "boolean": "SÍ/NO",
    "path": "RUTA",
    "file": "ARCHIVO",
    "directory": "DIRECTORIO",
    "filename": "ARCHIVO",
}
_EXTRA_BRACKET = re.compile(r"\[([^\[\]]*)\]$")

#: the context whose arguments were parsed last: click raises some parser errors
#: (``BadOptionUsage``) without a context, and the message must still name the command
_LAST_CONTEXT: ContextVar[click.Context | None] = ContextVar("sisi_last_context", default=None)
_HISPANIZED: weakref.WeakSet[click.Command] = weakref.WeakSet()


class SpanishHelpFormatter(click.HelpFormatter):
    """Help pages with Spanish headings: ``Uso:``, ``Opciones:``, ``Comandos:``."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, "Uso: " if prefix is None else prefix)

    @contextmanager
    def section(self, name: str) -> Iterator[None]:
        with super().section(_HEADINGS.get(name, name)):
            yield

    def write_dl(
        self, rows: Sequence[tuple[str, str]], col_max: int = 30, col_spacing: int = 2
    ) -> None:
        super().write_dl(
            [(term, _spanish_extra(text)) for term, text in rows], col_max, col_spacing
        )


def _spanish_extra(text: str) -> str:
    """``[default: 20; required]`` at the end of an option's help -> ``[por defecto: 20; ...]``."""
    match = _EXTRA_BRACKET.search(text)
    if match is None:
        return text
    items = []
    for item in match.group(1).split("; "):
        if item.startswith("default: "):
            item = "por defecto: " + item.removeprefix("default: ")
        elif item.startswith("env var: "):
            item = "variable de entorno: " + item.removeprefix("env var: ")
        elif item == "required":
            item = "obligatoria"
        items.append(item)
    return text[: match.start()] + "[" + "; ".join(items) + "]"


class SpanishContext(click.Context):
    """A context that formats help in Spanish and remembers it was the last one parsed."""

    formatter_class = SpanishHelpFormatter

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _LAST_CONTEXT.set(self)


def hispanize(command: click.Command) -> click.Command:
    """Give ``command`` and its subcommands Spanish help and metavars; idempotent.

    click has no inheritance of command classes for groups declared in other modules, so the
    lazily loaded commands are adjusted once, through their public attributes.
    """
    if command in _HISPANIZED:
        return command
    _HISPANIZED.add(command)
    command.context_class = SpanishContext
    if command.options_metavar == _OPTIONS_METAVAR[0]:
        command.options_metavar = _OPTIONS_METAVAR[1]
    if command.add_help_option:
        names = command.context_settings.get("help_option_names", ["--help"])
        command.add_help_option = False
        click.help_option(*names, help=HELP_TEXT)(command)
    for param in command.params:
        spanish_metavar = _METAVARS.get(param.type.name)
        if isinstance(param, click.Option) and param.metavar is None and spanish_metavar:
            param.metavar = spanish_metavar + ("..." if param.nargs != 1 else "")
    if isinstance(command, click.Group):
        for english, spanish in (_SUBCOMMAND_METAVAR, _CHAIN_METAVAR):
            if command.subcommand_metavar == english:
                command.subcommand_metavar = spanish
        for subcommand in command.commands.values():
            hispanize(subcommand)
    return command


class SpanishUsageError(click.UsageError):
    """A usage error already in Spanish: the usage line, then ``error: ...`` (exit code 2)."""

    def show(self, file: IO[Any] | None = None) -> None:
        if self.ctx is not None:
            click.echo(self.ctx.get_usage(), file=file, err=True, color=self.ctx.color)
        click.echo(f"error: {self.message}", file=file, err=True)


class SpanishClickError(click.ClickException):
    """Any other click error, in Spanish, printed like a ``SisiError``."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.message}", file=file, err=True)


def spanish_error(exc: click.ClickException) -> click.ClickException:
    """The Spanish version of a click error (the same object if it needs none)."""
    if isinstance(exc, SpanishUsageError | SpanishClickError | click.exceptions.NoArgsIsHelpError):
        return exc
    if not isinstance(exc, click.UsageError):
        if isinstance(exc, click.FileError):
            message = f"no se pudo abrir el archivo '{exc.ui_filename}': {exc.message}"
        else:
            message = exc.message
        return SpanishClickError(message, exc.exit_code)
    ctx = exc.ctx or _LAST_CONTEXT.get()
    message, hint = _describe(exc, ctx)
    spanish = SpanishUsageError(with_hint(message, hint), ctx)
    spanish.exit_code = exc.exit_code
    return spanish


def _describe(exc: click.UsageError, ctx: click.Context | None) -> tuple[str, str]:
    """(what went wrong, what to do) for a usage error."""
    path = ctx.command_path if ctx is not None else "sisi"
    see = f"vea '{path} --help'."
    if isinstance(exc, click.MissingParameter):
        return _missing(exc, ctx, see)
    if isinstance(exc, click.BadParameter):
        return _bad_value(exc, see)
    if isinstance(exc, click.NoSuchOption):
        guess = (
            f" (¿quiso decir {' o '.join(sorted(exc.possibilities))}?)" if exc.possibilities else ""
        )
        return (
            f"'{path}' no tiene la opción {exc.option_name}{guess}",
            f"corríjala o quítela; las opciones válidas están en '{path} --help'.",
        )
    if isinstance(exc, click.BadOptionUsage):
        if "does not take a value" in exc.message:
            return f"la opción {exc.option_name} no lleva valor", f"quite el '=...'; {see}"
        if "requires" in exc.message:
            return (
                f"a la opción {exc.option_name} le falta su valor",
                f"escríbalo después de {exc.option_name}; {see}",
            )
        return f"uso incorrecto de la opción {exc.option_name}: {exc.message}", see
    if isinstance(exc, click.BadArgumentUsage):
        return f"uso incorrecto de un argumento: {exc.message}", see
    return _plain_usage(exc, ctx, path, see)


def _plain_usage(
    exc: click.UsageError, ctx: click.Context | None, path: str, see: str
) -> tuple[str, str]:
    """Errors click raises as a bare ``UsageError`` with an English sentence."""
    unknown = re.fullmatch(r"No such command (.+)\.", exc.message)
    if unknown is not None:
        name = _unquote(unknown.group(1))
        commands = (
            ctx.command.list_commands(ctx)
            if isinstance(ctx, click.Context) and isinstance(ctx.command, click.Group)
            else []
        )
        close = difflib.get_close_matches(name, commands, n=2)
        guess = f" (¿quiso decir {' o '.join(repr(c) for c in close)}?)" if close else ""
        return (
            f"'{path}' no tiene el comando '{name}'{guess}",
            f"los comandos disponibles están en '{path} --help'.",
        )
    if exc.message == "Missing command.":
        return f"falta el comando después de '{path}'", f"elija uno; {see}"
    extra = re.fullmatch(r"Got unexpected extra arguments? \((.*)\)", exc.message)
    if extra is not None:
        words = extra.group(1)
        what = f"sobran los argumentos {words}" if " " in words else f"sobra el argumento {words}"
        usage = _usage_line(ctx)
        return what, (f"la forma de uso es: {usage}; " if usage else "") + see
    return f"uso incorrecto: {exc.message}", see


def _missing(exc: click.MissingParameter, ctx: click.Context | None, see: str) -> tuple[str, str]:
    param = exc.param
    if isinstance(param, click.Option):
        name = _option_name(param)
        about = f" ({_first_sentence(param.help)})" if param.help else ""
        return (
            f"falta la opción {name}{about}",
            f"agregue {name} con su valor; {see}",
        )
    if isinstance(param, click.Argument):
        usage = _usage_line(ctx)
        return (
            f"falta el argumento {param.human_readable_name}",
            (f"escríbalo después del comando: {usage}; " if usage else "") + see,
        )
    return "falta un parámetro obligatorio", see


def _bad_value(exc: click.BadParameter, see: str) -> tuple[str, str]:
    param = exc.param
    if param is not None:
        where = (
            _option_name(param) if isinstance(param, click.Option) else param.human_readable_name
        )
    elif exc.param_hint is not None:
        where = exc.param_hint if isinstance(exc.param_hint, str) else " / ".join(exc.param_hint)
    else:
        return f"valor inválido: {exc.message}", see
    reason = _type_reason(param, exc.message)
    if param is not None and isinstance(param.type, click.Choice):
        return f"valor inválido para {where}: {reason}", f"escriba uno de esos valores; {see}"
    return f"valor inválido para {where}: {reason}", f"corrija el valor; {see}"


def _type_reason(param: click.Parameter | None, message: str) -> str:
    """click's English sentence for a value its type refused, in Spanish when its shape is known."""
    kind = param.type if param is not None else None
    if isinstance(kind, click.Choice):
        refused = re.match(r"(.+?) is not ", message)
        if refused is not None:
            choices = ", ".join(str(choice) for choice in kind.choices)
            return f"{refused.group(1)} no es una de: {choices}"
    if isinstance(kind, click.IntRange | click.FloatRange) and " is not in the range " in message:
        value = message.split(" is not in the range ")[0]
        return f"{value} está fuera del rango: {_describe_range(kind)}"
    number = re.fullmatch(
        r"(.+) is not a valid (integer|float|boolean|UUID)( range)?\..*", message, re.S
    )
    if number is not None:
        what = {
            "integer": "un número entero",
            "float": "un número (con punto decimal, p. ej. 2.5)",
            "boolean": "un valor sí/no (true/false)",
            "UUID": "un UUID",
        }[number.group(2)]
        return f"{number.group(1)} no es {what}"
    path = re.fullmatch(
        r"(File|Directory|Path) (.+) (does not exist|is a file|is a directory|is not readable"
        r"|is not writable|is not executable)\.",
        message,
    )
    if path is not None:
        noun = {"File": "el archivo", "Directory": "el directorio", "Path": "la ruta"}[
            path.group(1)
        ]
        problem = {
            "does not exist": "no existe",
            "is a file": "es un archivo y aquí va un directorio",
            "is a directory": "es un directorio y aquí va un archivo",
            "is not readable": "no se puede leer (revise los permisos)",
            "is not writable": "no se puede escribir (revise los permisos)",
            "is not executable": "no es ejecutable",
        }[path.group(3)]
        return f"{noun} {path.group(2)} {problem}"
    return message.rstrip(".")


def _describe_range(kind: click.IntRange | click.FloatRange) -> str:
    low, high = kind.min, kind.max
    if low is not None and high is not None and not kind.min_open and not kind.max_open:
        return f"debe estar entre {low} y {high}"
    parts = []
    if low is not None:
        parts.append(f"mayor {'que' if kind.min_open else 'o igual que'} {low}")
    if high is not None:
        parts.append(f"menor {'que' if kind.max_open else 'o igual que'} {high}")
    return "debe ser " + " y ".join(parts)


def _option_name(param: click.Parameter) -> str:
    """The long form of an option (``--purpose``) when it has one."""
    long = [opt for opt in param.opts if opt.startswith("--")]
    return (long or param.opts or [param.human_readable_name])[0]


# Abbreviations that end in a period but never end a sentence in a help text ("p. ej. «…»",
# "núm. 3", "art. 19"): a period after one of them is not where the first sentence stops.
_ABBREVIATIONS = frozenset(
    {"p", "ej", "pp", "núm", "art", "arts", "fr", "frac", "cf", "vid", "pág", "págs"}
    | {"sr", "sra", "srta", "dr", "dra", "lic", "ing", "mtro", "mtra", "e.g", "i.e", "vs"}
)
# A sentence ends at a period followed by space and an upper-case word (optionally quoted).
_SENTENCE_END = re.compile(r"\.\s+(?=[«\"'¿¡(]?[A-ZÁÉÍÓÚÑÜ])")


def _first_sentence(text: str) -> str:
    """``Finalidad de la consulta (queda en la bitácora).`` -> ``finalidad de la consulta``.

    Asides in parentheses are dropped. Only a period followed by a capitalised word ends the
    sentence, and not after an abbreviation:
    ``Finalidad, p. ej. «ARCO 118». Otra.`` -> ``finalidad, p. ej. «ARCO 118»``.
    """
    text = " ".join(text.split())
    first = text
    for end in _SENTENCE_END.finditer(text):
        word = re.search(r"([\w.]+)$", text[: end.start()])
        if word is None or word.group(1).lower() not in _ABBREVIATIONS:
            first = text[: end.start()]
            break
    first = first.strip().rstrip(".")
    # The description is shown in parentheses: asides in parentheses would nest, so drop them.
    first = re.sub(r"\s*\([^()]*\)", "", first).strip() or first
    if len(first) > 1 and first[0].isupper() and first[1].islower():
        first = first[0].lower() + first[1:]
    return first


def _usage_line(ctx: click.Context | None) -> str:
    if ctx is None:
        return ""
    return " ".join([ctx.command_path, *ctx.command.collect_usage_pieces(ctx)])


def _unquote(text: str) -> str:
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    return value if isinstance(value, str) else text
