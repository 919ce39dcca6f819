"""``sisi audit``: verify the hub's hash-chained audit log, show its head and its latest entries."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from hub.agreements.keys import key_id, public_key_from_str, public_key_to_str
from hub.audit.chain import Action, AuditEntry
from hub.audit.keys import load_hub_public_key
from hub.audit.publish import entry_to_record
from hub.audit.store import iter_entries, read_head, recent_entries
from hub.audit.verify import verify_chain
from hub.db import make_engine
from hub.errors import ConfigurationError, SignatureError
from hub.settings import Settings

__all__ = ["audit", "head_command", "list_command", "verify_command"]


def _open_log(settings: Settings) -> Engine:
    """The registry engine, after checking that the audit tables are there."""
    url = settings.resolved_database_url()
    hint = "revise SISI_DATABASE_URL y aplique las migraciones del hub (hub.db.migrate)"
    try:
        engine = make_engine(url)
        tables = set(inspect(engine).get_table_names())
    except SQLAlchemyError as exc:
        raise ConfigurationError(
            f"no se pudo abrir la base de datos del registro ({type(exc).__name__})", hint=hint
        ) from exc
    if not {"audit_log", "audit_chain_head"} <= tables:
        engine.dispose()
        raise ConfigurationError("la base de datos no tiene la bitácora de auditoría", hint=hint)
    return engine


@contextmanager
def _reading_log(settings: Settings) -> Iterator[Engine]:
    """The log's engine for reads; a database failure becomes a clear error, then disposed."""
    engine = _open_log(settings)
    try:
        yield engine
    except SQLAlchemyError as exc:
        raise ConfigurationError(
            f"falló la lectura de la bitácora ({type(exc).__name__})",
            hint="revise que la base de datos esté disponible y vuelva a intentar",
        ) from exc
    finally:
        engine.dispose()


def _public_key(settings: Settings, text: str | None) -> Ed25519PublicKey:
    if text is None:
        return load_hub_public_key(settings)
    try:
        return public_key_from_str(text.strip())
    except SignatureError as exc:
        raise ConfigurationError(exc.message, field="--public-key", hint=exc.hint) from exc


@click.group()
def audit() -> None:
    """Bitácora de auditoría: encadenada por hash y firmada por el hub."""


@audit.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Salida en JSON.")
@click.option(
    "--public-key",
    default=None,
    metavar="ed25519:...",
    help="Llave pública publicada del hub (por omisión, <SISI_DATA_DIR>/keys/hub.pub).",
)
@click.pass_context
def verify_command(ctx: click.Context, as_json: bool, public_key: str | None) -> None:
    """Verifica toda la bitácora: sale con 0 si está íntegra y 1 si fue alterada."""
    settings = Settings()
    key = _public_key(settings, public_key)
    with _reading_log(settings) as engine:
        with engine.connect() as conn:
            head = read_head(conn)
        report = verify_chain(iter_entries(engine), key, expected_head=head)
    if as_json:
        document: dict[str, Any] = report.to_dict()
        document["key_id"] = key_id(public_key_to_str(key))
        click.echo(json.dumps(document, ensure_ascii=False))
    elif report.ok:
        click.echo(report.render())
    else:
        click.echo(report.render(), err=True)
        click.echo(
            "Qué hacer: conserve una copia de la base tal como está, compárela con la última "
            "cabeza publicada y avise al responsable de seguridad.",
            err=True,
        )
    ctx.exit(0 if report.ok else 1)


@audit.command("head")
@click.option("--json", "as_json", is_flag=True, help="Salida en JSON.")
def head_command(as_json: bool) -> None:
    """Muestra la cabeza de la cadena (última entrada, hash y firma) para publicarla."""
    settings = Settings()
    with _reading_log(settings) as engine, engine.connect() as conn:
        head = read_head(conn)
    try:
        fingerprint: str | None = key_id(public_key_to_str(load_hub_public_key(settings)))
    except ConfigurationError:
        fingerprint = None
    document = {
        "sequence": head.sequence,
        "entry_hash": head.entry_hash.hex(),
        "signature": base64.b64encode(head.signature).decode("ascii"),
        "recorded_at": head.at.isoformat().replace("+00:00", "Z") if head.at else None,
        "key_id": fingerprint,
    }
    if as_json:
        click.echo(json.dumps(document, ensure_ascii=False))
        return
    if head.is_empty:
        click.echo("la bitácora está vacía (secuencia 0)")
        return
    click.echo(f"secuencia:  {document['sequence']}")
    click.echo(f"hash:       {document['entry_hash']}")
    click.echo(f"firma:      {document['signature']}")
    click.echo(f"registrada: {document['recorded_at']}")
    click.echo(f"llave:      {fingerprint or 'desconocida (falta hub.pub)'}")


def _summary(entry: AuditEntry) -> str:
    """What an entry says, in a few words."""
    details = entry.details
    if entry.action == Action.AGREEMENT_CHANGED and "change" in details:
        text = f"{details['change']} de {details.get('file', '?')}"
        if "status" in details:
            text += (
                f", estado {details['status']}, vigencia {details.get('valid_from', '?')} a "
                f"{details.get('valid_until', '?')}"
            )
        return text + f" (sha256 {details.get('sha256', '')[:12]})"
    if entry.action in (Action.CONTRACT_REGISTERED, Action.CONTRACT_DELETED) and (
        "subject" in details
    ):
        text = (
            f"{details['subject']} versión {details.get('version', '?')} "
            f"(id {details.get('schema_id', '?')}, sha256 {details.get('sha256', '')[:12]})"
        )
        if entry.action == Action.CONTRACT_DELETED:
            text = f"baja {details.get('deletion', '?')} de {text}"
        return text
    parts = [
        f"mensaje {entry.message_id}" if entry.message_id else "",
        f"elemento {entry.reference_id}" if entry.reference_id else "",
        f"finalidad «{entry.purpose}»" if entry.purpose else "",
        *(f"{key}={value}" for key, value in sorted(details.items())),
    ]
    return " ".join(part for part in parts if part)


def _document(entry: AuditEntry) -> dict[str, Any]:
    document = entry_to_record(entry)
    del document["prev_hash"], document["signature"]
    document["recorded_at"] = entry.recorded_at.isoformat().replace("+00:00", "Z")
    document["entry_hash"] = entry.entry_hash.hex()
    document["signed"] = entry.is_signed
    return document


@audit.command("list")
@click.option(
    "--action",
    type=click.Choice([action.value for action in Action], case_sensitive=False),
    default=None,
    help="Sólo esta acción (p. ej. AGREEMENT_CHANGED, CONTRACT_REGISTERED).",
)
@click.option("--agreement", default=None, help="Sólo este convenio.")
@click.option("--limit", type=click.IntRange(1, 100000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Salida en JSON.")
def list_command(action: str | None, agreement: str | None, limit: int, as_json: bool) -> None:
    """Las últimas entradas de la bitácora, en orden de secuencia."""
    with _reading_log(Settings()) as engine:
        entries = recent_entries(
            engine,
            action=action.upper() if action else None,
            agreement_id=agreement,
            limit=limit,
        )
    if as_json:
        click.echo(json.dumps([_document(e) for e in entries], ensure_ascii=False))
        return
    if not entries:
        click.echo("no hay entradas que mostrar.")
        return
    for entry in entries:
        click.echo(
            f"{entry.sequence:>8}  {entry.recorded_at:%Y-%m-%d %H:%M:%S}Z  {entry.actor}  "
            f"{entry.action}  {entry.agreement_id or '—'}  {_summary(entry)}"
        )
