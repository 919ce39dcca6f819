"""``sisi quarantine``: review refused messages and replay a refused change set once fixed."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

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
    STATES,
    QuarantinedItem,
    came_back,
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


def _json_default(value: Any) -> Any:
    """JSON for the documents: a moment in ISO 8601 with its zone (UTC, ``Z``; SQLite gives
    them back naive, in UTC), the rest as the registry commands give them."""
    if isinstance(value, dt.datetime):
        moment = _utc(value).replace(tzinfo=dt.UTC)
        return moment.isoformat().replace("+00:00", "Z")
    return json_default(value)


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
        "status": item.state,
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


#: What each state means for the operator (``show``).
_STATE_MEANING = {
    "PENDIENTE": "requiere al operador: corregir la causa y reenviar",
    "REENVIADO": "reenviada y aún sin acuse: vea 'procesado'",
    "INFORMADO": "la dependencia recibió el rechazo en su acuse; ella corrige y entrega de nuevo",
    "RESUELTO": "nada que hacer: el conjunto ya se procesó, vea 'procesado'",
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
    any code the quarantine holds); the error lists the valid codes."""
    if reason is None:
        return None
    code = reason.strip().upper()
    stored = count_by_reason(engine)
    if code in GATEKEEPER_REASONS or code in REASON_CODES or code in stored:
        return code
    codes = {*GATEKEEPER_REASONS, *REASON_CODES, *stored}
    near = sorted(c for c in codes if c[:4] == code[:4])
    hint = "use un código válido" + (f", p. ej. {', '.join(near[:5])}" if near else "") + "; "
    held = ", ".join(f"{c} ({n})" for c, n in sorted(stored.items()))
    others = sorted(c for c in codes if c not in stored)
    hint += (
        f"en la cuarentena hay ahora: {held}; " if held else "la cuarentena está vacía; "
    ) + f"los demás códigos válidos: {', '.join(others)}"
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
@click.option(
    "--status",
    type=click.Choice(list(STATES)),
    default=None,
    help="Sólo entradas en este estado: PENDIENTE (requiere al operador), REENVIADO (reenviada, "
    "sin acuse aún), INFORMADO (la dependencia recibió el rechazo y corrige) o RESUELTO (nada "
    "que hacer: el conjunto se procesó después, o es un mensaje repetido).",
)
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

    Una tabla con encabezado: entrada, hora de recepción (UTC), convenio, motivo, qué se rechazó,
    estado y acuse. El estado dice qué hace falta: PENDIENTE (el operador corrige la causa y
    reenvía), REENVIADO (reenviada, sin acuse aún: 'show' dice si el hub no la ha procesado o la
    rechazó de nuevo), INFORMADO (la dependencia recibió el rechazo en su acuse y corrige) o
    RESUELTO (nada que hacer).

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
        click.echo(json.dumps(document, ensure_ascii=False, default=_json_default))
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
    if items and not as_json:
        _table(items, mask)
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


#: The columns of ``list`` (text): header and the value of an entry.
_COLUMNS = ("entrada", "recibido (UTC)", "convenio", "motivo", "rechazado", "estado", "acuse")


def _table(items: list[QuarantinedItem], mask: ReferenceMask) -> None:
    """The entries as a table with a header, each column as wide as its widest value."""
    rows = [
        (
            str(i.id),
            f"{_utc(i.received_at):%Y-%m-%d %H:%M}",
            i.agreement_id or "—",
            i.reason_code,
            f"elemento {mask(i.reference_id)}" if i.reference_id else "conjunto completo",
            i.state,
            _answer(i.answered),
        )
        for i in items
    ]
    widths = [max(len(row[n]) for row in [_COLUMNS, *rows]) for n in range(len(_COLUMNS))]

    def line(row: tuple[str, ...]) -> str:
        cells = [row[0].rjust(widths[0])]
        cells += [cell.ljust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        return "  ".join(cells).rstrip()

    click.echo(line(_COLUMNS))
    for row in rows:
        click.echo(line(row))


def _answer(answered: str | None) -> str:
    return f"acuse {answered}" if answered else "sin acuse"


def _count(n: int, noun: str) -> str:
    """``1 elemento``, ``2 elementos``, ``3 identificadores``."""
    if n == 1:
        return f"1 {noun}"
    return f"{n} {noun}{'es' if noun[-1] in 'rnl' else 's'}"


def _outcome(engine: Engine, item: QuarantinedItem) -> tuple[str, dict[str, object]] | None:
    """What the hub did with this change set since, as ``show`` says it (text, JSON): the
    outcome of the copy that claimed its identity (the set itself, a replay, the agency's
    resend), with the receipt its agency got; for a replay refused again without a receipt,
    the entry it became; else, for a replayed entry, that the hub has not processed it yet.
    None: nothing to say (an entry never replayed whose set nobody answered)."""
    from hub.quarantine.replay import replay_outcome

    claim = replay_outcome(engine, item)
    back: list[QuarantinedItem] = []
    if item.status == "REENVIADO":
        with engine.connect() as conn:
            back = came_back(conn, item)
    entries = ", ".join(f"entrada {b.id} ({b.reason_code}, {b.state})" for b in back)
    document: dict[str, object] = {"requarantined_as": [b.id for b in back]}
    if claim is not None:
        reason = f" {claim.reason_code}" if claim.reason_code else ""
        text = (
            f"{claim.outcome}{reason}, con acuse a la dependencia ({claim.topic}, partición "
            f"{claim.partition}, posición {claim.offset})"
        )
        if back:
            text += f"; el reenvío volvió a la cuarentena: {entries}"
        document |= {
            "processed": True,
            "outcome": claim.outcome,
            "reason_code": claim.reason_code,
            "receipt": True,
            "topic": claim.topic,
            "partition": claim.partition,
            "offset": claim.offset,
        }
        return text, document
    if item.status != "REENVIADO":
        return None
    if back:
        last, earlier = back[-1], back[:-1]
        text = (
            f"rechazado de nuevo, sin acuse: el reenvío es la entrada {last.id} "
            f"({last.reason_code}, {last.state}; {last.topic}, partición {last.partition}, "
            f"posición {last.offset})"
        )
        if earlier:
            text += "; antes volvió como " + ", ".join(
                f"entrada {b.id} ({b.reason_code}, {b.state})" for b in earlier
            )
        text += (
            f"; corrija la causa que dice 'sisi quarantine show {last.id}' y reenvíe la "
            f"entrada {last.id}"
        )
        document |= {
            "processed": True,
            "outcome": "REJECTED",
            "reason_code": last.reason_code,
            "receipt": False,
            "topic": last.topic,
            "partition": last.partition,
            "offset": last.offset,
        }
        return text, document
    text = (
        "el hub aún no procesa el reenvío; si el broker se reinició después del reenvío y lo "
        f"perdió, publíquelo otra vez con 'sisi quarantine replay {item.id} --again'"
    )
    document |= {"processed": False, "outcome": None, "reason_code": None, "receipt": False}
    return text, document


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
    """Una entrada: motivo, estado, qué hizo el hub después, posición en Kafka y encabezados.

    El valor original es el conjunto de cambios completo, con los datos personales de todos sus
    elementos (con --json, en hexadecimal y decodificado: encabezado y elementos): la consulta
    queda en la bitácora con su finalidad, cuántas personas muestra y quiénes son (el id del
    registro de cada persona que el registro tiene y la huella con clave de cada CURP), para que
    'sisi audit reads CURP' la encuentre.
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
        if found.readable:  # the people the set shows; ``people`` counts the rows naming them
            details["shown"] = str(found.people)
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
            "people": found.people if found.readable else None,
            "decoded": found.record,
            "replay_outcome": outcome[0] if outcome else None,
            "processed": outcome[1] if outcome else None,
            "audit_sequence": entry.sequence,
            "audit_people": len(found.ids),
        }
        click.echo(json.dumps(document, ensure_ascii=False, default=_json_default))
        return
    for key, value in _summary(item).items():
        if value is None or key == "answered":  # 'procesado' says it, with where
            continue
        shown = _moment(value) if isinstance(value, dt.datetime) else value
        if key == "status":
            shown = f"{value} ({_STATE_MEANING[item.state]})"
        click.echo(f"{_LABELS.get(key, key):<14} {shown}")
    if outcome is not None:
        click.echo(f"{'procesado':<14} {outcome[0]}")
    items = (
        f"{_count(found.items, 'elemento')}, {_count(found.people, 'persona')}"
        if found.readable
        else "no se pudo leer como conjunto"
    )
    click.echo(f"{'valor':<14} {len(item.value or b'')} bytes ({items})")
    for name in headers:
        click.echo(f"{'encabezado':<14} {name}")
    people = f"{_count(found.people, 'persona')} nombradas por " if found.readable else ""
    if found.readable and found.people == 1:
        people = "1 persona nombrada por "
    click.echo(
        f"consulta registrada en la bitácora (entrada {entry.sequence}: {people}"
        f"{_count(len(found.ids), 'identificador')}); con --json, los elementos decodificados.",
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
@click.option(
    "--yes",
    is_flag=True,
    help="No pedir confirmación (necesario cuando la entrada estándar no es una terminal).",
)
def replay_command(entry_id: int, purpose: str, again: bool, yes: bool) -> None:
    """Reenvía los bytes originales de un conjunto rechazado a su tema (queda auditado).

    Sólo para conjuntos rechazados completos sin acuse a la dependencia (firma que no verificó,
    convenio aún no registrado o dado de baja...) cuya causa corrigió el operador: antes de
    publicar se comprueba con los convenios actuales que el convenio está cargado y vigente, que
    el tema es el suyo y que la firma verifica con su clave. Los rechazados con acuse (convenio
    vencido, versión no permitida...) y los elementos rechazados los reenvía la dependencia,
    firmados, en un conjunto nuevo. Dos reenvíos simultáneos de la misma entrada publican una
    sola vez; un conjunto que el hub ya procesó no se aplica dos veces.

    Pide confirmación; --yes la omite y es necesario cuando la entrada estándar no es una
    terminal (un script): sin él, el reenvío se rechaza (código 1) y nada cambia.
    """
    from hub.agreements.loader import AgreementSet
    from hub.quarantine.publishing import PositionedPublisher
    from hub.quarantine.replay import ReplayRefusedError, check_purpose, replay
    from hub.worker.versions import StoredVersions

    purpose = check_purpose(purpose)
    settings = Settings()
    engine = open_registry(settings, _REPLAY_TABLES)

    def confirm(item: QuarantinedItem) -> bool:
        if yes:
            return True
        if not click.get_text_stream("stdin").isatty():
            # nobody can answer (a script, a pipe, cron): say what to add, as a refusal (exit 1)
            raise ReplayRefusedError(
                f"la entrada {item.id} no se reenvió: el reenvío pide confirmación y la entrada "
                "estándar no es una terminal, así que nadie puede responder",
                hint=f"si el reenvío es el que quiere, añada --yes: 'sisi quarantine replay "
                f"{item.id} --yes --purpose …'; nada cambió",
            )
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
