"""``sisi quarantine``: review refused messages and replay a refused change set once fixed."""

from __future__ import annotations

import datetime as dt
import json

import click
from sqlalchemy.engine import Engine

from hub.audit.keys import load_or_create_hub_key
from hub.audit.pseudonym import ReferenceMask
from hub.audit.store import AuditLog
from hub.cli.registry import json_default, open_registry, operator
from hub.errors import SisiError
from hub.gatekeeper.reasons import GATEKEEPER_REASONS
from hub.quarantine.people import people_in
from hub.quarantine.store import (
    QuarantinedItem,
    count_by_reason,
    count_items,
    get_item,
    list_items,
)
from hub.settings import Settings
from hub.validation.issues import REASON_CODES

__all__ = ["quarantine"]

_TABLES = ["quarantine_messages", "quarantine_entries"]
#: ``replay`` also reads the ledger, the audited agreement versions and writes the audit log.
_REPLAY_TABLES = [*_TABLES, "processed_messages", "agreement_versions", "audit_log"]
#: ``show`` also looks up who the set names (registry, schemas) and writes the audit log.
_SHOW_TABLES = [
    *_TABLES,
    "people",
    "source_records",
    "processed_messages",
    "audit_log",
    "audit_read_subjects",
]


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
        "answered": item.answered,
    }


def _listed(item: QuarantinedItem, mask: ReferenceMask) -> dict[str, object]:
    """An entry as ``list`` gives it: no personal data (``list`` is not an audited read). The
    detail may quote the item's data (a malformed CURP, a birth date) and is left to ``show``;
    a folio that is a CURP is given as the audit log names it (``curp-hmac:``)."""
    summary = _summary(item)
    del summary["message"]
    if item.reference_id is not None:
        summary["reference_id"] = mask(item.reference_id)
    return summary


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
    "answered": "acuse",
}


@click.group("quarantine")
def quarantine() -> None:
    """Cuarentena: mensajes y elementos rechazados, con sus bytes originales y el motivo."""


class _NotFoundError(SisiError):
    """An option names something the hub does not have (exit 2, as the README says)."""

    exit_code = 2


def _known_reason(engine: Engine, reason: str | None) -> str | None:
    """``reason`` upper-cased, or exit 2 when no refusal has that code (the hub's codes and
    any code the quarantine holds)."""
    if reason is None:
        return None
    code = reason.strip().upper()
    stored = count_by_reason(engine)
    if code in GATEKEEPER_REASONS or code in REASON_CODES or code in stored:
        return code
    codes = {*GATEKEEPER_REASONS, *REASON_CODES, *stored}
    near = sorted(c for c in codes if c[:4] == code[:4])
    hint = "use un código de motivo de 'sisi quarantine list' o de los acuses"
    if near:
        hint += f", p. ej. {', '.join(near[:5])}"
    raise _NotFoundError(
        f"'{reason}' no es un código de motivo del hub", field="--reason", hint=hint
    )


def _known_agreement(engine: Engine, settings: Settings, agreement: str | None) -> None:
    """Exit 2 when neither the agreements nor the quarantine know ``agreement``."""
    if agreement is None or count_items(engine, agreement_id=agreement):
        return
    from hub.agreements.loader import AgreementSet
    from hub.errors import AgreementError

    try:
        ids = set(AgreementSet(settings.agreements_dir).ids)
    except AgreementError:
        ids = set()
    if agreement in ids:
        return
    raise _NotFoundError(
        f"el hub no tiene el convenio '{agreement}' ni hay entradas de cuarentena suyas",
        field="--agreement",
        hint="revise el id con 'sisi agreements list' (p. ej. CONV-BIENESTAR-PAM-2026)",
    )


@quarantine.command("list")
@click.option("--agreement", default=None, help="Sólo este convenio.")
@click.option("--reason", default=None, help="Sólo este código de motivo (p. ej. FIRMA_INVALIDA).")
@click.option("--status", type=click.Choice(["PENDIENTE", "REENVIADO"]), default=None)
@click.option("--message", "message_id", default=None, help="Sólo este message_id.")
@click.option(
    "--before",
    type=click.IntRange(1),
    default=None,
    help="Sólo entradas con id menor (la página siguiente: el id de la última mostrada).",
)
@click.option("--limit", type=click.IntRange(1, 100000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Salida en JSON.")
def list_command(
    agreement: str | None,
    reason: str | None,
    status: str | None,
    message_id: str | None,
    before: int | None,
    limit: int,
    as_json: bool,
) -> None:
    """Entradas en cuarentena, las más recientes primero, de --limit en --limit.

    Sin datos personales (no es una consulta auditada): el detalle del motivo, que puede citar
    datos del elemento, lo da 'sisi quarantine show' con su finalidad; un folio que es una CURP
    aparece como la bitácora lo nombra (curp-hmac:...).

    Cuando hay más de las que caben, al final (en la salida de errores) dice cuántas hay y el
    comando de la página siguiente (--before con el id de la última mostrada).
    """
    settings = Settings()
    engine = open_registry(settings, _TABLES)
    try:
        mask = ReferenceMask(load_or_create_hub_key(settings))
        reason = _known_reason(engine, reason)
        _known_agreement(engine, settings, agreement)
        filters = {
            "agreement_id": agreement,
            "reason_code": reason,
            "status": status,
            "message_id": message_id,
        }
        items = list_items(engine, **filters, before=before, limit=limit)
        total = count_items(engine, **filters)
        older = bool(items) and bool(list_items(engine, **filters, before=items[-1].id, limit=1))
    finally:
        engine.dispose()
    if as_json:
        document = [_listed(i, mask) for i in items]
        click.echo(json.dumps(document, ensure_ascii=False, default=json_default))
    elif not items:
        chosen = [
            f"{label} {value}"
            for label, value in (
                ("convenio", agreement),
                ("motivo", reason),
                ("estado", status),
                ("mensaje", message_id),
                ("id menor que", before),
            )
            if value is not None
        ]
        if not chosen and total == 0:
            click.echo("la cuarentena está vacía.")
        else:
            click.echo(f"ninguna entrada de cuarentena con {', '.join(chosen)}.")
    for i in [] if as_json else items:
        what = f"elemento {mask(i.reference_id)}" if i.reference_id else "conjunto completo"
        click.echo(
            f"{i.id:>6}  {_utc(i.received_at):%Y-%m-%d %H:%M} UTC  {i.agreement_id or '—'}  "
            f"{i.reason_code}"
            f"  {what}  [{i.status}]  {_answer(i.answered)}"
        )
    if items and older:
        args = " ".join(
            f"{option} {value}"
            for option, value in (
                ("--agreement", agreement),
                ("--reason", reason),
                ("--status", status),
                ("--message", message_id),
            )
            if value is not None
        )
        shown = _count(len(items), "entrada") + (" mostrada" if len(items) == 1 else " mostradas")
        click.echo(
            f"{shown} de {total}; las anteriores: sisi quarantine list "
            f"{args + ' ' if args else ''}--before {items[-1].id} --limit {limit}",
            err=True,
        )


def _answer(answered: str | None) -> str:
    return f"acuse {answered}" if answered else "sin acuse"


def _count(n: int, noun: str) -> str:
    """``1 elemento``, ``2 elementos``, ``3 identificadores``."""
    if n == 1:
        return f"1 {noun}"
    return f"{n} {noun}{'es' if noun[-1] in 'rnl' else 's'}"


def _outcome(engine: Engine, item: QuarantinedItem) -> str | None:
    """What the hub answered for this change set's identity: the outcome of the copy that
    claimed it (the set itself, a replay, the agency's resend), else whether a replay waits."""
    from hub.quarantine.replay import replay_outcome

    claim = replay_outcome(engine, item)
    if claim is None:
        return "el hub aún no procesa el reenvío" if item.status == "REENVIADO" else None
    reason = f" {claim.reason_code}" if claim.reason_code else ""
    return (
        f"{claim.outcome}{reason}, con acuse a la dependencia ({claim.topic}, partición "
        f"{claim.partition}, posición {claim.offset})"
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
    datos personales de todos sus elementos: la consulta queda en la bitácora con su finalidad y
    con quiénes están en el conjunto (el id del registro de cada persona que el registro tiene y
    la huella con clave de cada CURP), para que 'sisi audit reads CURP' la encuentre.
    """
    if not purpose.strip():
        raise SisiError(
            "la finalidad de la consulta está vacía",
            field="--purpose",
            hint="declare para qué consulta la entrada, p. ej. --purpose 'revisión de rechazo'",
        )
    settings = Settings()
    engine = open_registry(settings, _SHOW_TABLES)
    try:
        item = get_item(engine, entry_id)
        hub_key = load_or_create_hub_key(settings)
        found = people_in(engine, item.value or b"", item.agreement_id, hub_key)
        outcome = _outcome(engine, item)
        details = {
            "command": "quarantine show",
            "agreement_id": item.agreement_id or "",
            "message_id": item.message_id,
            "items": str(found.items) if found.readable else "ilegible",
        }
        # the agreement in its column (``sisi audit list --agreement`` finds the read); no
        # message_id column: a second read of the same entry is a read of its own. Everyone
        # in the set is named (``people``): the value shows all of them, not only the refused
        entry = AuditLog(engine, hub_key).read_personal(
            operator(),
            purpose,
            f"cuarentena:{item.id}",
            details,
            agreement_id=item.agreement_id or None,
            people=found.ids or None,
        )
    finally:
        engine.dispose()
    headers = {name: (raw.hex() if raw is not None else None) for name, raw in item.headers}
    if as_json:
        document = {
            **_summary(item),
            "value_hex": (item.value or b"").hex(),
            "headers": headers,
            "items": found.items if found.readable else None,
            "replay_outcome": outcome,
            "audit_sequence": entry.sequence,
            "audit_people": len(found.ids),
        }
        click.echo(json.dumps(document, ensure_ascii=False, default=json_default))
        return
    for key, value in _summary(item).items():
        if value is None or key == "answered":  # 'procesado' says it, with where
            continue
        shown = _moment(value) if isinstance(value, dt.datetime) else value
        click.echo(f"{_LABELS.get(key, key):<14} {shown}")
    if outcome is not None:
        click.echo(f"{'procesado':<14} {outcome}")
    items = _count(found.items, "elemento") if found.readable else "no se pudo leer como conjunto"
    click.echo(f"{'valor':<14} {len(item.value or b'')} bytes ({items})")
    for name in headers:
        click.echo(f"{'encabezado':<14} {name}")
    click.echo(
        f"consulta registrada en la bitácora (entrada {entry.sequence}, "
        f"{_count(len(found.ids), 'identificador')} de personas).",
        err=True,
    )


@quarantine.command("replay")
@click.argument("entry_id", type=int)
@click.option(
    "--purpose",
    required=True,
    help="Por qué se reenvía (queda en la bitácora), p. ej. 'convenio registrado de nuevo'.",
)
@click.option(
    "--again",
    is_flag=True,
    help="Publicar otra vez una entrada ya reenviada que el hub nunca procesó (el broker perdió "
    "el reenvío).",
)
@click.option("--yes", is_flag=True, help="No pedir confirmación.")
def replay_command(entry_id: int, purpose: str, again: bool, yes: bool) -> None:
    """Reenvía los bytes originales de un conjunto rechazado a su tema (queda auditado).

    Sólo para conjuntos rechazados completos sin acuse a la dependencia (firma que no verificó,
    convenio aún no registrado o dado de baja...) cuya causa corrigió el operador: antes de
    publicar se comprueba con los convenios actuales que el convenio está cargado y vigente, que
    el tema es el suyo y que la firma verifica con su clave. Los rechazados con acuse (convenio
    vencido, versión no permitida...) y los elementos rechazados los reenvía la dependencia,
    firmados, en un conjunto nuevo. Dos reenvíos simultáneos de la misma entrada publican una
    sola vez; un conjunto que el hub ya procesó no se aplica dos veces.
    """
    from hub.agreements.loader import AgreementSet
    from hub.quarantine.publishing import PositionedPublisher
    from hub.quarantine.replay import check_purpose, replay
    from hub.worker.versions import StoredVersions

    purpose = check_purpose(purpose)
    settings = Settings()
    engine = open_registry(settings, _REPLAY_TABLES)

    def confirm(item: QuarantinedItem) -> bool:
        if yes:
            return True
        answer = click.prompt(
            f"¿Reenviar el mensaje {item.message_id} a {item.topic}? [s/N]",
            default="n",
            show_default=False,
        )
        return answer.strip().lower() in {"s", "si", "sí"}

    try:
        item = replay(
            engine,
            AuditLog(engine, load_or_create_hub_key(settings)),
            # as the hub sees them: a broken file keeps its last good version in force
            AgreementSet(settings.agreements_dir, StoredVersions(engine)),
            entry_id,
            PositionedPublisher(settings.bootstrap_servers),
            operator(),
            purpose=purpose,
            again=again,
            confirm=confirm,
        )
    finally:
        engine.dispose()
    click.echo(
        f"reenviado: entrada {entry_id}, mensaje {item.message_id} a {item.topic}; el hub lo "
        "procesa y la dependencia recibe su acuse ('sisi quarantine show' dice el resultado)"
    )
