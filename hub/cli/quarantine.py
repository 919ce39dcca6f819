"""``sisi quarantine``: review refused messages and replay a refused change set once fixed."""

from __future__ import annotations

import datetime as dt
import json

import click

from hub.audit.keys import load_or_create_hub_key
from hub.audit.store import AuditLog
from hub.cli.registry import json_default, open_registry, operator
from hub.errors import SisiError
from hub.quarantine.store import QuarantinedItem, get_item, list_items
from hub.settings import Settings

__all__ = ["quarantine"]

_TABLES = ["quarantine_messages", "quarantine_entries"]


def _utc(moment: dt.datetime) -> dt.datetime:
    """``moment`` in UTC (a naive one, as SQLite gives it back, already is)."""
    return moment.astimezone(dt.UTC) if moment.tzinfo is not None else moment


def _moment(value: dt.datetime) -> str:
    return f"{_utc(value):%Y-%m-%d %H:%M:%S} UTC"


def _summary(item: QuarantinedItem) -> dict[str, object]:
    return {
        "id": item.id,
        "agreement_id": item.agreement_id,
        "message_id": item.message_id,
        "reference_id": item.reference_id,
        "reason_code": item.reason_code,
        "field": item.field,
        "message": item.message,
        "topic": item.topic,
        "partition": item.partition,
        "offset": item.offset,
        "received_at": item.received_at,
        "status": item.status,
        "replayed_at": item.replayed_at,
        "replayed_by": item.replayed_by,
    }


#: How ``show`` names each field for the operator (``--json`` keeps the identifiers).
_LABELS = {
    "id": "entrada",
    "agreement_id": "convenio",
    "message_id": "mensaje",
    "reference_id": "elemento",
    "reason_code": "motivo",
    "field": "campo",
    "message": "detalle",
    "topic": "tema",
    "partition": "partición",
    "offset": "posición",
    "received_at": "recibido",
    "status": "estado",
    "replayed_at": "reenviado el",
    "replayed_by": "reenviado por",
}


@click.group("quarantine")
def quarantine() -> None:
    """Cuarentena: mensajes y elementos rechazados, con sus bytes originales y el motivo."""


@quarantine.command("list")
@click.option("--agreement", default=None, help="Sólo este convenio.")
@click.option("--reason", default=None, help="Sólo este código de motivo.")
@click.option("--status", type=click.Choice(["PENDIENTE", "REENVIADO"]), default=None)
@click.option("--limit", type=click.IntRange(1, 100000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Salida en JSON.")
def list_command(
    agreement: str | None, reason: str | None, status: str | None, limit: int, as_json: bool
) -> None:
    """Entradas en cuarentena, las más recientes primero."""
    engine = open_registry(Settings(), _TABLES)
    try:
        items = list_items(
            engine, agreement_id=agreement, reason_code=reason, status=status, limit=limit
        )
    finally:
        engine.dispose()
    if as_json:
        document = [_summary(i) for i in items]
        click.echo(json.dumps(document, ensure_ascii=False, default=json_default))
        return
    if not items:
        click.echo("la cuarentena está vacía.")
        return
    for i in items:
        what = f"elemento {i.reference_id}" if i.reference_id else "conjunto completo"
        click.echo(
            f"{i.id:>6}  {_utc(i.received_at):%Y-%m-%d %H:%M} UTC  {i.agreement_id or '—'}  "
            f"{i.reason_code}"
            f"  {what}  [{i.status}]"
        )


@quarantine.command("show")
@click.argument("entry_id", type=int)
@click.option(
    "--purpose",
    required=True,
    help="Finalidad de la consulta (queda en la bitácora): el conjunto original trae datos "
    "personales.",
)
@click.option("--json", "as_json", is_flag=True, help="Salida en JSON.")
def show_command(entry_id: int, purpose: str, as_json: bool) -> None:
    """Una entrada: motivo, posición en Kafka, encabezados y tamaño del valor original.

    El valor original (con --json, en hexadecimal) es el conjunto de cambios completo, con los
    datos personales de todos sus elementos: la consulta queda en la bitácora con su finalidad.
    """
    if not purpose.strip():
        raise SisiError(
            "la finalidad de la consulta está vacía",
            field="--purpose",
            hint="declare para qué consulta la entrada, p. ej. --purpose 'revisión de rechazo'",
        )
    settings = Settings()
    engine = open_registry(settings, _TABLES)
    try:
        item = get_item(engine, entry_id)
        # the agreement in its column (``sisi audit list --agreement`` finds the read); no
        # message_id column: a second read of the same entry is a read of its own
        entry = AuditLog(engine, load_or_create_hub_key(settings)).read_personal(
            operator(),
            purpose,
            f"cuarentena:{item.id}",
            {"agreement_id": item.agreement_id or "", "message_id": item.message_id},
            agreement_id=item.agreement_id or None,
        )
    finally:
        engine.dispose()
    headers = {name: (raw.hex() if raw is not None else None) for name, raw in item.headers}
    if as_json:
        document = {
            **_summary(item),
            "value_hex": (item.value or b"").hex(),
            "headers": headers,
            "audit_sequence": entry.sequence,
        }
        click.echo(json.dumps(document, ensure_ascii=False, default=json_default))
        return
    for key, value in _summary(item).items():
        if value is None:
            continue
        shown = _moment(value) if isinstance(value, dt.datetime) else value
        click.echo(f"{_LABELS.get(key, key):<14} {shown}")
    click.echo(f"{'valor':<14} {len(item.value or b'')} bytes")
    for name in headers:
        click.echo(f"{'encabezado':<14} {name}")
    click.echo(f"consulta registrada en la bitácora (entrada {entry.sequence}).", err=True)


@quarantine.command("replay")
@click.argument("entry_id", type=int)
@click.option("--yes", is_flag=True, help="No pedir confirmación.")
def replay_command(entry_id: int, yes: bool) -> None:
    """Reenvía los bytes originales de un conjunto rechazado a su tema (queda auditado).

    Sólo para conjuntos rechazados completos sin acuse a la dependencia (firma que no verificó,
    convenio aún no registrado o dado de baja...) cuya causa corrigió el operador: antes de
    publicar se comprueba con los convenios actuales que el convenio está cargado y vigente, que
    el tema es el suyo y que la firma verifica con su clave. Los rechazados con acuse (convenio
    vencido, versión no permitida...) y los elementos rechazados los reenvía la dependencia,
    firmados, en un conjunto nuevo. Dos reenvíos simultáneos de la misma entrada publican una
    sola vez.
    """
    from hub.agreements.loader import AgreementSet
    from hub.quarantine.replay import replay
    from hub.worker.publisher import KafkaPublisher

    settings = Settings()
    engine = open_registry(settings, _TABLES)

    def confirm(item: QuarantinedItem) -> bool:
        if yes:
            return True
        answer = click.prompt(
            f"¿Reenviar el mensaje {item.message_id} a {item.topic}? [s/N]",
            default="n",
            show_default=False,
        )
        if answer.strip().lower() not in {"s", "si", "sí"}:
            raise click.Abort
        return True

    try:
        item = replay(
            engine,
            AuditLog(engine, load_or_create_hub_key(settings)),
            AgreementSet(settings.agreements_dir),
            entry_id,
            KafkaPublisher(settings.bootstrap_servers),
            operator(),
            confirm=confirm,
        )
    finally:
        engine.dispose()
    click.echo(f"reenviado: entrada {entry_id}, mensaje {item.message_id} a {item.topic}")
