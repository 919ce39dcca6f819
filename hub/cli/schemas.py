"""``sisi schemas``: check, list, serve and register the Avro contracts."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

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


def _catalog_names(directory: Path | None) -> tuple[str, ...]:
    """The repository catalog's subjects (none when the folder is missing or unreadable)."""
    try:
        return load_catalog(directory).names
    except ContractError:
        return ()


def _list_catalog(directory: Path | None, as_json: bool) -> None:
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


@schemas.command("list")
@_DIR
@click.option(
    "--catalogo",
    "from_catalog",
    is_flag=True,
    help="Listar los archivos del catálogo (avro_schemas/) en vez del registro.",
)
@click.option("--json", "as_json", is_flag=True, help="Salida JSON.")
def list_(directory: Path | None, from_catalog: bool, as_json: bool) -> None:
    """Lista los subjects del registro de esquemas: modo, versiones e ids.

    Marca los que vienen del catálogo del repositorio (avro_schemas/ o --dir); con --catalogo
    lista los archivos del catálogo en vez del registro.
    """
    if from_catalog:
        _list_catalog(directory, as_json)
        return
    from hub.cli.registry import open_registry
    from hub.schema_registry.store import SchemaStore

    catalog = set(_catalog_names(directory))
    engine = open_registry(Settings(), ["sr_subject_versions", "sr_schemas", "sr_config"])
    try:
        store = SchemaStore(engine)
        rows: list[dict[str, Any]] = [
            {
                "subject": subject,
                "compatibility": store.get_config(subject).value,
                "versions": [{"version": r.version, "id": r.id} for r in store.registered(subject)],
                "in_catalog": subject in catalog,
            }
            for subject in store.subjects()
        ]
    finally:
        engine.dispose()
    registered = {row["subject"] for row in rows}
    missing = sorted(catalog - registered)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo(
            "el registro de esquemas no tiene subjects; 'sisi up' y 'sisi schemas serve' lo "
            "siembran con los contratos del catálogo."
        )
    for row in rows:
        versions = ", ".join(f"v{v['version']} (id {v['id']})" for v in row["versions"])
        origin = "catálogo" if row["in_catalog"] else "sólo en el registro"
        click.echo(f"{row['subject']:<45} {row['compatibility']:<20} {versions}  [{origin}]")
    if missing:
        click.echo(f"en el catálogo pero no en el registro: {', '.join(missing)}")


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


def _unknown_subject(subject: str, known: set[str]) -> ContractError:
    close = difflib.get_close_matches(subject, sorted(known), n=1, cutoff=0.6)
    suggestion = f"¿quiso decir {close[0]!r}? " if close else ""
    return ContractError(
        f"el subject {subject!r} no está en el catálogo ni en el registro de esquemas",
        field="SUBJECT",
        hint=f"{suggestion}revise el nombre con 'sisi schemas list'; para crear un subject "
        "nuevo, repita el comando con --nuevo-sujeto.",
    )


def _where_schemas_live(file: Path, subject: str, directory: Path | None) -> str:
    """What to do about a schema file that is not there: the path, and where schemas are."""
    root = directory if directory is not None else Settings().schemas_dir
    folder = root / subject
    relative = "" if file.is_absolute() else f" (relativa a {Path.cwd()})"
    hint = f"revise la ruta{relative}; "
    numbered = {int(p.stem[1:]): p for p in folder.glob("v*.avsc") if p.stem[1:].isdigit()}
    versions = [numbered[n] for n in sorted(numbered)]
    same_name = folder / file.name
    if same_name.is_file():
        return hint + f"¿quiso decir {same_name}?"
    if versions:
        names = ", ".join(p.name for p in versions)
        return hint + (
            f"los esquemas de {subject} están en {folder} ({names}); una versión nueva se "
            f"escribe allí como v{max(numbered) + 1}.avsc y se registra con esa ruta"
        )
    return hint + (
        f"los esquemas del catálogo están en {root}/<subject>/v<N>.avsc "
        "('sisi schemas list' muestra los subjects)"
    )


def _read_schema_file(file: Path, subject: str, directory: Path | None) -> str:
    if not file.is_file():
        raise ContractError(
            "no existe el archivo de esquema",
            path=file,
            hint=_where_schemas_live(file, subject, directory),
        )
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ContractError(
            f"el archivo de esquema no es texto UTF-8 (byte {exc.start + 1})",
            path=file,
            hint="un esquema Avro es un archivo JSON (.avsc) en UTF-8; guárdelo así",
        ) from exc
    except OSError as exc:
        raise ContractError(
            f"no se pudo leer el archivo de esquema: {exc.strerror or exc}",
            path=file,
            hint="revise los permisos del archivo",
        ) from exc


@schemas.command("register")
@click.argument("subject")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--nuevo-sujeto",
    "new_subject",
    is_flag=True,
    help="Crear SUBJECT aunque no esté en el catálogo ni en el registro.",
)
@_DIR
def register(subject: str, file: Path, new_subject: bool, directory: Path | None) -> None:
    """(Operador) Registra FILE en SUBJECT en la base del hub, si cumple el modo del subject.

    Un SUBJECT que no está en el catálogo (--dir) ni en el registro se crea sólo con
    --nuevo-sujeto: un nombre mal escrito no crea un subject nuevo.
    """
    from hub.db import make_engine, migrate
    from hub.schema_registry.errors import RegistryError
    from hub.schema_registry.store import SchemaStore

    text = _read_schema_file(file, subject, directory)
    engine = make_engine(Settings().resolved_database_url())
    try:
        migrate(engine)
        store = SchemaStore(engine)
        known = {*_catalog_names(directory), *store.subjects(deleted=True)}
        if subject not in known and not new_subject:
            raise _unknown_subject(subject, known)
        try:
            registered = store.register(subject, text)
        except RegistryError as exc:
            raise ContractError(exc.message, path=file, hint=exc.hint) from exc
    finally:
        engine.dispose()
    click.echo(f"{subject} v{registered.version} registrado con id {registered.id}")
