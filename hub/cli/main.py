"""Entry point of the ``sisi`` command; subcommands load lazily so ``sisi --help`` stays fast."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from hub.cli.spanish import VERSION_HELP, VERSION_MESSAGE, hispanize, spanish_error
from hub.errors import SisiError
from hub.private import restrict_umask

__all__ = ["cli", "main"]

#: subcommand name -> "module:attribute" of its click command or group
SUBCOMMANDS: dict[str, str] = {
    "schemas": "hub.cli.schemas:schemas",
    "agreements": "hub.cli.agreements:agreements",
    "broker": "hub.cli.broker:broker",
    "audit": "hub.cli.audit:audit",
    "synth": "producers.synth.cli:synth",
    "produce": "producers.cli:produce",
    "outbox": "producers.cli:outbox",
    "hub": "hub.cli.hub:hub",
    "quarantine": "hub.cli.quarantine:quarantine",
    "compliance": "hub.cli.compliance:compliance",
    "registry": "hub.cli.registry:registry",
    "up": "hub.cli.up:up",
}


class Cancelled(click.ClickException):
    """The operator answered no to a confirmation or pressed Ctrl-C."""

    exit_code = 130

    def show(self, file: Any = None) -> None:
        click.echo("cancelado.", file=file, err=True)


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when used, all of them speaking Spanish.

    Every command it hands out goes through :func:`hispanize` (help option and headings), and
    every click error raised while parsing or running one is turned into its Spanish version, so
    ``sisi`` and ``CliRunner().invoke(cli, ...)`` print the same texts.
    """

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.ClickException as exc:
            raise spanish_error(exc) from exc

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            raise spanish_error(exc) from exc
        except (click.exceptions.Abort, KeyboardInterrupt) as exc:
            raise Cancelled("cancelado.") from exc

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *SUBCOMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in SUBCOMMANDS:
            module_name, attr = SUBCOMMANDS[cmd_name].split(":")
            command = getattr(importlib.import_module(module_name), attr)
            assert isinstance(command, click.Command)
            return hispanize(command)
        found = super().get_command(ctx, cmd_name)
        return hispanize(found) if found is not None else None


@click.group(cls=LazyGroup)
@click.version_option(package_name="sisi-hub", message=VERSION_MESSAGE, help=VERSION_HELP)
def cli() -> None:
    """SISI: Sistema de Información Social Integral — hub de intercambio de padrones."""


hispanize(cli)


def main(argv: list[str] | None = None) -> Any:
    """Run the CLI; a ``SisiError`` or a click error becomes ``error: ...`` on stderr and its
    exit code (2 for a wrong command line, like click's own)."""
    restrict_umask()  # what the CLI writes holds personal data: see hub.private
    try:
        return cli.main(args=argv, prog_name="sisi", standalone_mode=False)
    except SisiError as exc:
        click.echo(f"error: {exc.render()}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("cancelado.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        spanish = spanish_error(exc)
        spanish.show()
        sys.exit(spanish.exit_code)
