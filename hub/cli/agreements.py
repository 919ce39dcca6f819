"""``sisi agreements``: validate, list and show exchange agreements; generate an agency's key."""

from __future__ import annotations

import difflib
import functools
import json
import os
import re
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click
import yaml

from hub.agreements.keys import generate_keypair, key_id
from hub.agreements.loader import (
    AgreementFileError,
    AgreementIssue,
    agreement_files,
    load_agreement,
    load_agreements,
)
from hub.agreements.model import AGREEMENT_ID_PATTERN, Agreement
from hub.errors import AgreementError, ConfigurationError, SisiError
from hub.settings import REPO_ROOT, Settings

__all__ = ["agreements", "write_private_key"]

P = ParamSpec("P")
R = TypeVar("R")

_DIR_OPTION = click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Carpeta de convenios (por omisión SISI_AGREEMENTS_DIR o agreements/).",
)


def _reporting(func: Callable[P, R]) -> Callable[P, R]:
    """Turn a ``SisiError`` into one clear message on stderr and its exit code."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except SisiError as exc:
            click.echo(f"error: {exc.render()}", err=True)
            raise SystemExit(exc.exit_code) from exc

    return wrapper


@click.group()
def agreements() -> None:
    """Convenios de intercambio: validar, listar, mostrar y generar claves."""


@agreements.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@_reporting
def validate(paths: tuple[Path, ...]) -> None:
    """Valida convenios (archivos o carpetas; por omisión la carpeta de convenios)."""
    files: list[Path] = []
    for path in paths or (Settings().agreements_dir,):
        files.extend(agreement_files(path) if path.is_dir() else [path])
    if not files:
        raise AgreementError("no hay archivos de convenio (*.yaml) que validar")
    seen: dict[str, Path] = {}
    failed = 0
    for path in files:
        try:
            agreement = load_agreement(path)
        except AgreementFileError as exc:
            failed += 1
            for issue in exc.issues:
                click.echo(issue.render())
            continue
        if agreement.id in seen:
            failed += 1
            duplicate = AgreementIssue(
                str(path), None, "id", f"el id '{agreement.id}' ya lo usa {seen[agreement.id]}"
            )
            click.echo(duplicate.render())
            continue
        seen[agreement.id] = path
        click.echo(f"OK {path} {agreement.id}")
    click.echo(f"{len(files) - failed} convenio(s) válido(s), {failed} con errores.", err=True)
    if failed:
        raise SystemExit(2)


def _summary(agreement: Agreement, today: date) -> dict[str, Any]:
    agency = agreement.parties.agency
    return {
        "id": agreement.id,
        "title": agreement.title,
        "kind": agreement.kind,
        "level": agency.level,
        "agency": agency.name,
        "status": agreement.status,
        "in_force": agreement.in_force(today),
        "valid_from": agreement.valid_from.isoformat(),
        "valid_until": agreement.valid_until.isoformat(),
        "programs": list(agreement.program_keys),
        "environment": agreement.environment,
        "key_id": key_id(agreement.public_key),
        "changes_topic": agreement.changes_topic,
        "receipts_topic": agreement.receipts_topic,
    }


@agreements.command("list")
@_DIR_OPTION
@click.option("--json", "as_json", is_flag=True, help="Salida en JSON.")
@_reporting
def list_(directory: Path | None, as_json: bool) -> None:
    """Lista los convenios registrados y si están en vigor hoy.

    Un archivo con errores no impide listar los demás: se nombra en stderr con sus errores y el
    comando termina con código 2.
    """
    today = date.today()
    agreement_set = load_agreements(directory)
    rows = [_summary(a, today) for a in agreement_set]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        _table(rows)
    broken = agreement_set.broken
    for item in broken:
        click.echo(f"error: {item.error.render()}", err=True)
    if broken:
        names = ", ".join(item.path.name for item in broken)
        click.echo(
            f"{len(rows)} convenio(s) listado(s); {len(broken)} archivo(s) con errores no se "
            f"cargan: {names}. Corríjalos (sisi agreements validate).",
            err=True,
        )
        raise SystemExit(2)


def _table(rows: list[dict[str, Any]]) -> None:
    header = ("ID", "TIPO", "ORDEN", "ESTADO", "EN VIGOR", "VIGENCIA", "PROGRAMAS", "ENTORNO")
    table = [header] + [
        (
            r["id"],
            r["kind"],
            r["level"],
            r["status"],
            "sí" if r["in_force"] else "no",
            f"{r['valid_from']} a {r['valid_until']}",
            ",".join(r["programs"]) or "-",
            r["environment"],
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


@agreements.command()
@click.argument("agreement_id")
@_DIR_OPTION
@click.option("--json", "as_json", is_flag=True, help="Salida en JSON.")
@_reporting
def show(agreement_id: str, directory: Path | None, as_json: bool) -> None:
    """Muestra un convenio completo con su huella de clave y sus tópicos."""
    agreement_set = load_agreements(directory)
    agreement = agreement_set.get(agreement_id)
    data = {
        **agreement.model_dump(mode="json", exclude_none=True),
        "_file": str(agreement_set.path_of(agreement_id)),
        "_key_id": key_id(agreement.public_key),
        "_in_force_today": agreement.in_force(date.today()),
        "_changes_topic": agreement.changes_topic,
        "_receipts_topic": agreement.receipts_topic,
    }
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        click.echo(yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100), nl=False)


def _either(names: list[str]) -> str:
    """``A``, ``A o B``, ``A, B o C``."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " o " + names[-1]


def _require_known(agreement_id: str, directory: Path | None) -> None:
    """Refuse a key for an id no agreement file of ``directory`` declares (a typo would leave
    a key no agreement uses); names the folder and the closest registered ids."""
    folder = directory if directory is not None else Settings().agreements_dir
    try:
        found = load_agreements(folder)
    except AgreementFileError as exc:  # no such folder
        raise AgreementError(
            f"no se puede comprobar que exista el convenio '{agreement_id}': no existe la "
            f"carpeta de convenios {folder}",
            field="agreement_id",
            hint="indique la carpeta con --dir o SISI_AGREEMENTS_DIR; si el convenio es nuevo y "
            "aún no tiene archivo, use --new",
        ) from exc
    if agreement_id in found:
        return
    ids = found.ids
    close = difflib.get_close_matches(agreement_id, ids, n=3, cutoff=0.6)
    if close:
        known = "¿quiso decir " + _either(close) + "?"
    elif not ids:
        known = "la carpeta no tiene convenios"
    elif len(ids) <= 8:
        known = "convenios registrados: " + ", ".join(ids)
    else:
        nearest = difflib.get_close_matches(agreement_id, ids, n=3, cutoff=0.0)
        known = f"{len(ids)} convenios registrados; los más parecidos: {', '.join(nearest)}"
    broken = [item.path.name for item in found.broken if item.previous is None]
    unread = ""
    if broken:
        unread = f"; no cargan (revíselos con 'sisi agreements validate'): {', '.join(broken)}"
    raise AgreementError(
        f"no hay un convenio '{agreement_id}' en {Path(folder).resolve()} ({known}{unread}); "
        "no se generó ninguna clave",
        field="agreement_id",
        hint="corrija el id, o indique otra carpeta con --dir; si es un convenio nuevo que aún "
        f"no tiene archivo, repita con --new: sisi agreements keygen {agreement_id} --new",
    )


def write_private_key(directory: Path, agreement_id: str, pem: bytes, *, force: bool) -> Path:
    """Write ``<directory>/<id>.key`` (mode 0600) atomically; never inside the repository."""
    if not re.fullmatch(AGREEMENT_ID_PATTERN, agreement_id):
        raise AgreementError(
            f"'{agreement_id}' no es un id de convenio válido",
            field="id",
            hint="use mayúsculas, dígitos y guiones, p. ej. CONV-BIENESTAR-PAM-2026",
        )
    folder = directory.expanduser().resolve()
    if folder.is_relative_to(REPO_ROOT.resolve()):
        raise ConfigurationError(
            "no se escriben claves privadas dentro del repositorio",
            path=folder,
            hint="use --out con una carpeta fuera del repositorio o SISI_KEYS_DIR "
            "(por omisión ~/.config/sisi/keys)",
        )
    target = folder / f"{agreement_id}.key"
    if target.exists() and not force:
        raise ConfigurationError(
            "ya existe una clave privada para ese convenio",
            path=target,
            hint="use --force solo si quiere reemplazarla (la clave anterior dejará de servir)",
        )
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{agreement_id}.", suffix=".tmp", dir=folder)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        Path(temp_name).replace(target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return target


@agreements.command()
@click.argument("agreement_id")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Carpeta de la clave privada (por omisión SISI_KEYS_DIR).",
)
@click.option("--force", is_flag=True, help="Reemplaza una clave existente.")
@click.option(
    "--new",
    "new",
    is_flag=True,
    help="El convenio es nuevo y aún no está en la carpeta de convenios (sin esta opción el id "
    "debe ser el de un convenio registrado).",
)
@_DIR_OPTION
@_reporting
def keygen(
    agreement_id: str, out: Path | None, force: bool, new: bool, directory: Path | None
) -> None:
    """Genera el par de claves Ed25519 de una dependencia para un convenio.

    El id debe ser el de un convenio de la carpeta de convenios; para uno que aún se redacta
    (la clave pública se pega en su archivo), use --new.
    """
    if not new and re.fullmatch(AGREEMENT_ID_PATTERN, agreement_id):  # else refused below
        _require_known(agreement_id, directory)
    pem, public = generate_keypair()
    target = write_private_key(out or Settings().keys_dir, agreement_id, pem, force=force)
    click.echo(f"Clave privada escrita en {target} (permisos 0600).", err=True)
    click.echo(
        "Guárdela en secreto: quien la tenga puede enviar datos a nombre del convenio.", err=True
    )
    click.echo("Pegue esta línea en el archivo del convenio (y environment: produccion):", err=True)
    click.echo(f"public_key: {public}")
    click.echo(f"# key_id: {key_id(public)}")
