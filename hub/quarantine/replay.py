"""Replaying a quarantined change set: what may be replayed, the checks first, then one claim.

Only a change set refused as a whole *without* a receipt can be replayed: its agency was told
nothing, its outbox still waits, and the hub never claimed its identity. A set refused with a
receipt (the agency was told REJECTED and resends the items itself in a new set) and an item
refused inside a processed set would come back as ``MENSAJE_REPETIDO``: the hub applies nothing
and repeats the first receipt. Each refusal says, by reason code, why and what to do instead.

Before publishing, the checks that do not depend on the data are run again on the current
agreements (the replay would otherwise "succeed" and come back to quarantine): the agreement is
loaded, is a padrón agreement and is in force, the entry's topic is that agreement's, the
signature verifies with the agreement's current key, and no other message claimed the same
identity since. Then the entry is claimed (PENDIENTE → REENVIADO) and the ``QUARANTINE_REPLAYED``
audit entry written in ONE transaction; only the operator whose claim succeeded publishes. When
publishing fails the claim is undone (PENDIENTE again) with a second audit entry saying so, and
the error is reported: the entry can be replayed again.

Every replay says why (``purpose``, in its audit entry, as a read of personal data does). An
entry already REENVIADO is refused with what became of it: processed (the ledger's claim, with
its outcome), refused again without a receipt (the new entry it became, to replay instead), or
not yet. When the broker lost the published copy (the embedded broker forgets
its log on restart) and the hub never processed it, ``again`` publishes it once more: the claim
of the message's identity makes a copy that did arrive a MENSAJE_REPETIDO, never a second
application.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Final

from sqlalchemy import select
from sqlalchemy.engine import Engine

from hub.agreements.loader import AgreementSet
from hub.audit.chain import Action, AuditEvent
from hub.audit.store import AuditLog
from hub.envelope import AGREEMENT_HEADER, headers_dict, verify_with_keys
from hub.errors import AgreementError, BrokerError, SisiError
from hub.gatekeeper.ledger import LedgerRow, find_claim, find_position, processed_messages
from hub.gatekeeper.reasons import (
    CAMPO_FUERA_DE_ALCANCE,
    CONVENIO_NO_COINCIDE,
    CONVENIO_NO_VIGENTE,
    ESQUEMA_NO_CONVENIDO,
    ESQUEMA_NO_PERMITIDO,
    MENSAJE_ILEGIBLE,
    MENSAJE_REPETIDO,
    PROGRAMA_FUERA_DE_CONVENIO,
    REFERENCIA_REPETIDA,
    REGISTRO_RECHAZADO,
    TOPICO_INCORRECTO,
)
from hub.quarantine.records import REPLAY_HEADER
from hub.quarantine.store import (
    QuarantinedItem,
    came_back,
    claim_replay,
    get_item,
    reclaim_replay,
    release_replay,
    replayed_copies,
)
from hub.worker.publisher import Publisher

__all__ = [
    "REPLAY_HEADER",
    "ReplayRefusedError",
    "check_purpose",
    "check_replayable",
    "replay",
    "replay_outcome",
    "replay_refusal",
]


class ReplayRefusedError(SisiError):
    """The entry cannot (or no longer) be replayed; the message says why, the hint what to do."""

    exit_code = 1


_NEW_SET: Final = "la dependencia lo envía en un conjunto nuevo, firmado (con un message_id nuevo)"
#: Why an item refused inside a processed set is not replayed, and what to do, by reason code.
_ITEM_CAUSES: Final[dict[str, tuple[str, str]]] = {
    PROGRAMA_FUERA_DE_CONVENIO: (
        "el convenio no incluye el programa del elemento",
        "si el programa debe entrar, agréguelo al convenio (programs) y pida a la dependencia "
        "que envíe el elemento de nuevo; si no, la dependencia debe corregir clave_programa. En "
        "ambos casos " + _NEW_SET,
    ),
    CAMPO_FUERA_DE_ALCANCE: (
        "el elemento trae un campo que el alcance del convenio no permite",
        "si el campo debe admitirse, amplíe el alcance del convenio (fields) y pida a la "
        "dependencia que envíe el elemento de nuevo; si no, la dependencia debe enviarlo sin ese "
        "campo. En ambos casos " + _NEW_SET,
    ),
    REGISTRO_RECHAZADO: (
        "el registro central no pudo aplicar el elemento (vea el motivo con 'sisi quarantine "
        "show')",
        "resuelva el conflicto que indica el motivo; después " + _NEW_SET,
    ),
    REFERENCIA_REPETIDA: (
        "otro elemento del mismo conjunto traía la misma reference_id con otro contenido",
        _NEW_SET + ", sin repetir la reference_id dentro del conjunto",
    ),
}
#: The same for sets refused as a whole with a receipt: the cause the operator may fix.
_SET_CAUSES: Final[dict[str, str]] = {
    CONVENIO_NO_VIGENTE: "renueve o reactive el convenio (estado y fechas de vigencia)",
    ESQUEMA_NO_PERMITIDO: "si esa versión del contrato debe admitirse, agréguela al convenio "
    "(contracts); si no, la dependencia serializa con una versión permitida",
    ESQUEMA_NO_CONVENIDO: "la dependencia serializa con el esquema que el convenio permite para "
    "esa versión; si el nuevo debe admitirse, se registra como versión nueva y se modifica el "
    "convenio para permitirla",
    MENSAJE_ILEGIBLE: "la dependencia serializa con un esquema publicado del contrato",
    CONVENIO_NO_COINCIDE: "la dependencia corrige el agreement_id o el message_id del cuerpo",
}
_REPEATED: Final = (
    "ese conjunto ya se procesó: reenviarlo no aplicaría nada (el hub lo trataría como "
    "MENSAJE_REPETIDO y repetiría el acuse que ya dio)"
)


_PURPOSE_WORD: Final = re.compile(r"[^\W\d_]{3}")
_CURP_IN_TEXT: Final = re.compile(
    r"(?<![A-Z0-9])[A-Z][AEIOUX][A-Z]{2}\d{6}[HMX][A-Z]{5}[0-9A-Z]\d(?![A-Z0-9])"
)


def check_purpose(purpose: str) -> str:
    """The replay's purpose, stripped; refused (``SisiError``, exit 2) when it says nothing or
    holds a CURP (the audit log keeps no personal data in clear), as a read's purpose is."""
    text = purpose.strip()
    if _PURPOSE_WORD.search(text) is None:
        raise SisiError(
            f"la finalidad «{text[:40]}» no dice para qué se reenvía la entrada",
            field="--purpose",
            hint="escriba la finalidad concreta, p. ej. --purpose 'convenio renovado, oficio "
            "118'; no se reenvió nada",
        )
    if _CURP_IN_TEXT.search(text.upper()) is not None:
        raise SisiError(
            "la finalidad contiene una CURP; la bitácora no guarda datos personales y sus "
            "entradas no se pueden borrar",
            field="--purpose",
            hint="describa el reenvío sin la CURP (p. ej. con el folio de la solicitud); no se "
            "reenvió nada",
        )
    return text


def replay_refusal(
    item: QuarantinedItem, receipted: bool, *, again: bool = False
) -> ReplayRefusedError | None:
    """Why the entry cannot be replayed whatever the current agreements say; None if it may be.

    ``receipted``: the ledger holds a receipt for the message (its agency was answered).
    ``again``: an entry already REENVIADO may be published once more (see the module).
    """
    entry, code = item.id, item.reason_code
    if item.reference_id is not None:
        cause, todo = _ITEM_CAUSES.get(
            code,
            (
                "los datos del elemento no pasaron la validación",
                "la dependencia corrige el dato y " + _NEW_SET.removeprefix("la dependencia "),
            ),
        )
        return ReplayRefusedError(
            f"la entrada {entry} ({code}) rechazó el elemento {item.reference_id}: {cause}; "
            f"{_REPEATED}",
            hint=todo,
        )
    if code == MENSAJE_REPETIDO:
        return ReplayRefusedError(
            f"la entrada {entry} es un mensaje repetido: el conjunto ya se procesó en otra "
            "posición y su dependencia ya tiene el acuse",
            hint="no hay nada que reenviar",
        )
    if receipted:
        todo = _SET_CAUSES.get(code, "corrija la causa que indica el motivo")
        return ReplayRefusedError(
            f"la entrada {entry} ({code}): la dependencia ya recibió un acuse RECHAZADO de este "
            f"conjunto y el hub registró su identidad; {_REPEATED}",
            hint=f"{todo}. Su productor, al recibir el rechazo, envía esos elementos en un "
            "conjunto nuevo en su siguiente entrega: pida a la dependencia que entregue de nuevo",
        )
    if item.status != "PENDIENTE" and not again:
        return ReplayRefusedError(
            f"la entrada {entry} ya se reenvió ({item.replayed_at}, {item.replayed_by}) y el hub "
            "aún no procesó el reenvío",
            hint="si el hub está detenido, al iniciar lo procesa; si el broker se reinició "
            "después del reenvío (el broker embebido olvida sus mensajes), reenvíela otra vez con "
            f"'sisi quarantine replay {entry} --again': si una copia sí llegó, el hub la trata "
            f"como {MENSAJE_REPETIDO} y no aplica nada dos veces",
        )
    return None


def replay_outcome(engine: Engine, item: QuarantinedItem) -> LedgerRow | None:
    """What the hub did with the message of ``item`` since: the ledger row that claimed its
    identity (agreement header, message id), None while no authenticated copy was processed."""
    raw = headers_dict(item.headers).get(AGREEMENT_HEADER)
    agreement_id = raw.decode("utf-8", "replace").strip() if raw else ""
    if not agreement_id:
        return None
    with engine.connect() as conn:
        return find_claim(conn, agreement_id, item.message_id)


def _processed_replay(engine: Engine, item: QuarantinedItem) -> ReplayRefusedError | None:
    """For an entry already REENVIADO: the refusal saying what the hub did with the replay."""
    claim = replay_outcome(engine, item)
    if claim is None:
        with engine.connect() as conn:
            back = came_back(conn, item)
        if not back:
            return None
        last = back[-1]
        return ReplayRefusedError(
            f"la entrada {item.id} ya se reenvió ({item.replayed_at}, {item.replayed_by}) y el "
            f"hub procesó el reenvío y lo rechazó de nuevo, sin acuse: es la entrada {last.id} "
            f"({last.reason_code}, {last.state})",
            hint=f"corrija la causa que dice 'sisi quarantine show {last.id}' y reenvíe esa "
            f"entrada: 'sisi quarantine replay {last.id}'",
        )
    return ReplayRefusedError(
        f"la entrada {item.id} ya se reenvió ({item.replayed_at}, {item.replayed_by}) y el hub "
        f"lo procesó ({claim.topic}, partición {claim.partition}, posición {claim.offset}, "
        f"resultado {claim.outcome}{', ' + claim.reason_code if claim.reason_code else ''})",
        hint="no hay nada que reenviar; la dependencia recibió el acuse de ese resultado en el "
        "tema de acuses del convenio",
    )


def check_replayable(
    engine: Engine,
    agreements: AgreementSet,
    item: QuarantinedItem,
    today: dt.date | None = None,
    *,
    again: bool = False,
) -> str:
    """Refuse (``ReplayRefusedError``) an entry whose replay would be refused again; the
    agreement's id when it may be replayed.

    The checks that do not depend on the data, on the agreements loaded now: the agreement is
    known, of padrón and in force, the topic is its own, the signature verifies with its current
    key, and its identity was not claimed by another message since.
    """
    with engine.connect() as conn:
        done = find_position(conn, item.topic, item.partition, item.offset, item.message_id)
    refusal = replay_refusal(item, done is not None and done.receipt is not None, again=again)
    if item.status != "PENDIENTE":  # say what became of the replay when the hub processed it
        refusal = _processed_replay(engine, item) or refusal
    if refusal is not None:
        raise refusal
    if item.status == "PENDIENTE":
        with engine.connect() as conn:
            copies = replayed_copies(conn, item.message_row)
        # an entry that is a replay back in quarantine (refused again, e.g. before the hub
        # reloaded the fixed agreement) was read: replaying it publishes the set once more
        came_back = REPLAY_HEADER in headers_dict(item.headers)
        if copies and not came_back and replay_outcome(engine, item) is None:
            first = copies[0]
            ids = ", ".join(str(c.id) for c in copies)
            raise ReplayRefusedError(
                f"la entrada {item.id} es otra copia del conjunto {item.message_id}, que ya se "
                f"reenvió ({first.replayed_at}, {first.replayed_by}; entradas {ids} en "
                "REENVIADO) y el hub aún no lo procesa: reenviarla publicaría el conjunto dos "
                "veces",
                hint="espere el acuse de ese reenvío; si el broker se reinició y lo perdió, "
                f"reenvíelo con 'sisi quarantine replay {first.id} --again'",
            )
    if again and item.status == "PENDIENTE":
        raise ReplayRefusedError(
            f"la entrada {item.id} no se ha reenviado: --again sólo vuelve a publicar un "
            "reenvío que el broker perdió",
            hint=f"reenvíela sin --again: 'sisi quarantine replay {item.id}'",
        )
    entry, code = item.id, item.reason_code
    headers = headers_dict(item.headers)
    raw = headers.get(AGREEMENT_HEADER)
    agreement_id = raw.decode("utf-8", "replace").strip() if raw else ""
    if not agreement_id:
        raise ReplayRefusedError(
            f"la entrada {entry} ({code}) no trae el encabezado {AGREEMENT_HEADER}: no hay "
            "convenio con el que aceptarla",
            hint="no la reenvíe; pida a la dependencia que envíe el conjunto de nuevo con el "
            "encabezado de su convenio",
        )
    try:
        agreement = agreements.get(agreement_id)
    except AgreementError:
        raise ReplayRefusedError(
            f"la entrada {entry} ({code}) es del convenio '{agreement_id}', que el hub no tiene "
            "cargado (dado de baja o nunca registrado): el reenvío se rechazaría de nuevo",
            hint="si el convenio debe estar vigente, coloque su archivo en el directorio de "
            "convenios (SISI_AGREEMENTS_DIR), espere a que el hub lo cargue ('sisi audit list' "
            "muestra el alta) y reenvíe; si no, descarte la entrada",
        ) from None
    if agreement.kind != "padron":
        raise ReplayRefusedError(
            f"la entrada {entry} ({code}) es del convenio '{agreement_id}', de tipo "
            f"{agreement.kind}: el hub no procesa sus conjuntos",
            hint="no la reenvíe",
        )
    if item.topic != agreement.changes_topic:
        what = "volvería a rechazarse como " + TOPICO_INCORRECTO
        raise ReplayRefusedError(
            f"la entrada {entry} ({code}) llegó a '{item.topic}' y el tema del convenio "
            f"'{agreement_id}' es '{agreement.changes_topic}': reenviarla al mismo tema {what}",
            hint=f"pida a la dependencia que publique el conjunto en {agreement.changes_topic}",
        )
    # the same rule as the gatekeeper: a key of the agreement valid now, by the hub's clock
    signature = verify_with_keys(
        agreement.signing_keys, item.value or b"", headers, dt.datetime.now(dt.UTC)
    )
    if not signature.ok:
        raise ReplayRefusedError(
            f"la entrada {entry} ({code}): la firma no verifica con ninguna clave vigente del "
            f"convenio '{agreement_id}' ({signature.detail}): el reenvío se rechazaría de nuevo "
            "(FIRMA_INVALIDA)",
            hint="si la dependencia cambió de clave, registre la nueva en el convenio "
            "(public_keys), espere a que el hub lo recargue y reenvíe; si firmó con una clave ya "
            "retirada o revocada, que vuelva a firmar lo pendiente con 'sisi outbox resign'; si "
            "no, el mensaje no es de la dependencia: no lo reenvíe y avise a la dependencia",
        )
    today = today or dt.date.today()
    if not agreement.in_force(today):
        raise ReplayRefusedError(
            f"la entrada {entry} ({code}): el convenio '{agreement_id}' no está vigente hoy "
            f"(estado '{agreement.status}', vigencia {agreement.valid_from.isoformat()} a "
            f"{agreement.valid_until.isoformat()}): el reenvío se rechazaría como "
            f"{CONVENIO_NO_VIGENTE}",
            hint="renueve o reactive el convenio, espere a que el hub lo recargue y reenvíe",
        )
    with engine.connect() as conn:
        claim = find_claim(conn, agreement_id, item.message_id)
    if claim is not None:
        raise ReplayRefusedError(
            f"la entrada {entry} ({code}): el conjunto {item.message_id} ya se procesó después "
            f"({claim.topic}, partición {claim.partition}, posición {claim.offset}, resultado "
            f"{claim.outcome}); {_REPEATED}",
            hint="no hay nada que reenviar",
        )
    return agreement_id


def _event(
    item: QuarantinedItem,
    actor: str,
    at: dt.datetime,
    purpose: str | None = None,
    **details: str,
) -> AuditEvent:
    stamp = at.isoformat()
    return AuditEvent(
        actor=actor,
        action=Action.QUARANTINE_REPLAYED,
        agreement_id=item.agreement_id,
        message_id=item.message_id,
        reference_id=f"cuarentena:{item.id}",
        purpose=purpose,
        details={"topic": item.topic, "reason_code": item.reason_code, **details},
        # one entry per attempt: a replay whose publication failed can be attempted again
        key=f"cuarentena:{item.id}:{details.get('result', 'reenviado')}:{stamp}",
    )


def _taken_position(
    engine: Engine, publisher: Publisher, item: QuarantinedItem, before: dt.datetime
) -> bool:
    """Whether the publisher says its last record landed where the hub already read a message
    with this message id before ``before`` (the refused copy, or another copy of it): the hub
    would take the replay for a redelivery of that message."""
    delivered: list[tuple[str, int, int]] = getattr(publisher, "delivered", [])
    if not delivered:
        return False
    topic, partition, offset = delivered[-1]
    c = processed_messages.c
    query = select(c.id).where(
        c.topic == topic,
        c.kafka_partition == partition,
        c.kafka_offset == offset,
        c.header_message_id == item.message_id,
        c.processed_at < before,
    )
    with engine.connect() as conn:
        return conn.execute(query.limit(1)).first() is not None


def replay(
    engine: Engine,
    audit: AuditLog,
    agreements: AgreementSet,
    entry_id: int,
    publisher: Publisher,
    actor: str,
    *,
    purpose: str,
    again: bool = False,
    confirm: Callable[[QuarantinedItem], bool] = lambda _item: True,
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    today: dt.date | None = None,
) -> QuarantinedItem:
    """Replay quarantine entry ``entry_id``: check, ``confirm``, claim (audited), publish.

    ``purpose``: why (in the audit entry; refused when it says nothing or holds a CURP).
    ``again``: publish once more an entry already REENVIADO that the hub never processed.

    Raises ``ReplayRefusedError`` when the entry cannot be replayed or another operator claimed
    it first, and ``BrokerError`` when publishing failed (the claim is undone, audited).
    Returns the entry as it was before the replay.
    """
    purpose = check_purpose(purpose)
    item = get_item(engine, entry_id)
    check_replayable(engine, agreements, item, today, again=again)
    if not confirm(item):
        raise ReplayRefusedError(
            f"la entrada {entry_id} no se reenvió: el reenvío no se confirmó",
            hint="nada cambió; para reenviarla responda «s» a la pregunta o añada --yes",
        )
    at = clock()
    with engine.begin() as conn:
        if again:
            claimed = reclaim_replay(conn, item.message_row, item.replayed_at, actor, at)
        else:
            claimed = claim_replay(conn, item.message_row, actor, at)
        if claimed:
            extra = {"again": "true"} if again else {}
            audit.append_in(conn, [_event(item, actor, at, purpose, **extra)])
    if not claimed:
        current = get_item(engine, entry_id)
        raise ReplayRefusedError(
            f"la entrada {entry_id} la reenvió otra operación mientras tanto "
            f"({current.replayed_at}, {current.replayed_by}): este reenvío no publicó nada",
            hint="consulte el acuse del reenvío en el tema de acuses del convenio",
        )
    try:
        headers = [
            (name, raw) for name, raw in item.headers if raw is not None and name != REPLAY_HEADER
        ] + [(REPLAY_HEADER, str(item.id).encode())]
        publisher.publish(item.topic, item.value or b"", headers)
        publisher.flush()
        if _taken_position(engine, publisher, item, at):
            # the broker restarted and gave a refused copy's position again: the hub would
            # take this copy for a redelivery of that one; the next copy lands after it
            publisher.publish(item.topic, item.value or b"", headers)
            publisher.flush()
    except Exception as exc:  # BrokerError from flush, KafkaException from produce
        reason = exc.message if isinstance(exc, SisiError) else f"{type(exc).__name__}: {exc}"
        failed = _event(item, actor, clock(), purpose, result="fallido", error=reason)
        with engine.begin() as conn:
            # with --again it stays REENVIADO (an earlier copy was published): --again again
            released = not again and release_replay(conn, item.message_row, actor, at)
            audit.append_in(conn, [failed])
        state = "vuelve a PENDIENTE" if released else "quedó marcada como REENVIADO"
        raise BrokerError(
            f"el reenvío de la entrada {entry_id} no se publicó en {item.topic} ({reason}); "
            f"la entrada {state} y la bitácora lo registra",
            hint="revise que el broker esté disponible y reintente 'sisi quarantine replay "
            f"{entry_id}'; si el broker sí recibió el mensaje, el hub lo tratará como "
            f"{MENSAJE_REPETIDO} sin aplicarlo dos veces",
        ) from exc
    return item
