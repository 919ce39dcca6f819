"""Entry point of the ``sisi`` command; subcommands load lazily so ``sisi --help`` stays fast."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from hub.errors import SisiError

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


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *SUBCOMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in SUBCOMMANDS:
            module_name, attr = SUBCOMMANDS[cmd_name].split(":")
            command = getattr(importlib.import_module(module_name), attr)
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup)
@click.version_option(package_name="sisi-hub")
def cli() -> None:
    """SISI: Sistema de Información Social Integral — hub de intercambio de padrones."""


def main(argv: list[str] | None = None) -> Any:
    """Run the CLI; a ``SisiError`` becomes one clear line on stderr and its exit code."""
    try:
        return cli.main(args=argv, prog_name="sisi", standalone_mode=False)
    except SisiError as exc:
        click.echo(f"error: {exc.render()}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("cancelado.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
