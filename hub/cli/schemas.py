"""``sisi schemas``: check, list, serve and register the Avro contracts."""

from __future__ import annotations

import json
from pathlib import Path

import click

from hub.contracts.catalog import load_catalog
from hub.contracts.compatibility import check_catalog
from hub.errors import ContractError
from hub.settings import Settings

__all__ = ["schemas"]

_DIR = click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Carpeta de contratos (por omisión SISI_SCHEMAS_DIR o avro_schemas/).",
)


@click.group()
def schemas() -> None:
    """Contratos Avro y registro de esquemas compatible con Confluent."""


@schemas.command("check")
@_DIR
def check(directory: Path | None) -> None:
    """Comprueba que cada versión cumpla el modo de compatibilidad de su subject."""
    catalog = load_catalog(directory)
    report = check_catalog(catalog)
    for subject, problems in report.results:
        count = len(subject.versions)
        label = f"{subject.name} ({subject.compatibility.value}, {count} "
        label += "versión)" if count == 1 else "versiones)"
        click.echo(("FALLA " if problems else "ok    ") + label)
        for problem in problems:
            click.echo(f"  - {problem.render()}")
    if not report.ok:
        click.echo(
            f"{len(report.problems)} problema(s) en {catalog.root}. Qué hacer: agregue campos "
            "con 'default' y no cambie tipos ni quite campos; corrija y vuelva a ejecutar.",
            err=True,
        )
        raise SystemExit(2)
    click.echo(f"{len(catalog)} subjects compatibles en {catalog.root}")


@schemas.command("list")
@_DIR
@click.option("--json", "as_json", is_flag=True, help="Salida JSON.")
def list_(directory: Path | None, as_json: bool) -> None:
    """Lista los subjects, su modo y sus versiones."""
    catalog = load_catalog(directory)
    rows = [
        {
            "subject": subject.name,
            "compatibility": subject.compatibility.value,
            "versions": [v.version for v in subject.versions],
            "fingerprint": subject.latest.fingerprint,
            "description": subject.description,
        }
        for subject in catalog
    ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        versions = ",".join(f"v{n}" for n in row["versions"])
        click.echo(f"{row['subject']:<45} {row['compatibility']:<20} {versions}")
        click.echo(f"    {row['description']}")


@schemas.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8081, show_default=True, type=int)
@_DIR
def serve_(host: str, port: int, directory: Path | None) -> None:
    """Sirve el registro de esquemas (base de datos de la configuración, migrada y sembrada)."""
    from hub.schema_registry.server import open_store, serve

    settings = Settings()
    store, seeded = open_store(settings.resolved_database_url(), directory or settings.schemas_dir)
    if seeded is not None:
        click.echo(
            f"registro sembrado: {len(seeded.registered)} versiones nuevas, "
            f"{len(seeded.existing)} ya registradas"
        )
    token = settings.registry_operator_token
    if token is None:
        click.echo(
            "aviso: sin SISI_REGISTRY_OPERATOR_TOKEN el registro sólo admite lecturas", err=True
        )
    click.echo(f"registro de esquemas en http://{host}:{port}")
    serve(store, host=host, port=port, operator_token=token.get_secret_value() if token else None)


@schemas.command("register")
@click.argument("subject")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
def register(subject: str, file: Path) -> None:
    """(Operador) Registra FILE en SUBJECT en la base del hub, si cumple el modo del subject."""
    from hub.db import make_engine, migrate
    from hub.schema_registry.errors import RegistryError
    from hub.schema_registry.store import SchemaStore

    if not file.is_file():
        raise ContractError("no existe el archivo de esquema", path=file)
    text = file.read_text(encoding="utf-8")
    engine = make_engine(Settings().resolved_database_url())
    try:
        migrate(engine)
        store = SchemaStore(engine)
        try:
            registered = store.register(subject, text)
        except RegistryError as exc:
            raise ContractError(exc.message, path=file, hint=exc.hint) from exc
    finally:
        engine.dispose()
    click.echo(f"{subject} v{registered.version} registrado con id {registered.id}")
