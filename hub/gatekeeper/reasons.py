"""The gatekeeper's reason codes: stable identifiers with the Spanish text agencies read.

Set-level codes refuse a whole change set; item-level codes refuse one item. Item validation
problems keep the codes of ``hub.validation`` (``CURP_CHECK_DIGIT``...). Codes are stable:
receipts, quarantine headers, audit entries and metrics use them.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

__all__ = [
    "CAMPO_FUERA_DE_ALCANCE",
    "CONVENIO_DADO_DE_BAJA",
    "CONVENIO_DESCONOCIDO",
    "CONVENIO_NO_COINCIDE",
    "CONVENIO_NO_VIGENTE",
    "ESQUEMA_NO_CONVENIDO",
    "ESQUEMA_NO_PERMITIDO",
    "FIRMA_INVALIDA",
    "GATEKEEPER_REASONS",
    "MENSAJE_ILEGIBLE",
    "MENSAJE_REPETIDO",
    "PROGRAMA_FUERA_DE_CONVENIO",
    "REFERENCIA_REPETIDA",
    "REGISTRO_RECHAZADO",
    "SET_LEVEL_REASONS",
    "TOPICO_INCORRECTO",
    "describe",
]

CONVENIO_DESCONOCIDO: Final = "CONVENIO_DESCONOCIDO"
TOPICO_INCORRECTO: Final = "TOPICO_INCORRECTO"
CONVENIO_DADO_DE_BAJA: Final = "CONVENIO_DADO_DE_BAJA"
FIRMA_INVALIDA: Final = "FIRMA_INVALIDA"
CONVENIO_NO_VIGENTE: Final = "CONVENIO_NO_VIGENTE"
MENSAJE_ILEGIBLE: Final = "MENSAJE_ILEGIBLE"
ESQUEMA_NO_PERMITIDO: Final = "ESQUEMA_NO_PERMITIDO"
ESQUEMA_NO_CONVENIDO: Final = "ESQUEMA_NO_CONVENIDO"
CONVENIO_NO_COINCIDE: Final = "CONVENIO_NO_COINCIDE"
MENSAJE_REPETIDO: Final = "MENSAJE_REPETIDO"
PROGRAMA_FUERA_DE_CONVENIO: Final = "PROGRAMA_FUERA_DE_CONVENIO"
CAMPO_FUERA_DE_ALCANCE: Final = "CAMPO_FUERA_DE_ALCANCE"
REGISTRO_RECHAZADO: Final = "REGISTRO_RECHAZADO"
REFERENCIA_REPETIDA: Final = "REFERENCIA_REPETIDA"

GATEKEEPER_REASONS: Final[Mapping[str, str]] = MappingProxyType(
    {
        CONVENIO_DESCONOCIDO: (
            "el mensaje nombra un convenio que el hub no tiene registrado; verifique el "
            "encabezado sisi-agreement o pida al operador que registre el convenio"
        ),
        CONVENIO_DADO_DE_BAJA: (
            "el convenio se dio de baja en el hub (su archivo se retiró): no se aceptan conjuntos "
            "bajo él, su firma no se verifica y no hay acuse; si el convenio debe seguir, el "
            "operador lo registra de nuevo y reenvía este conjunto desde la cuarentena ('sisi "
            "quarantine replay'); si no, la dependencia debe dejar de enviar"
        ),
        TOPICO_INCORRECTO: (
            "el mensaje llegó a un tema que no es el de su convenio; publique en "
            "sisi.agreement.<convenio>.changesets"
        ),
        FIRMA_INVALIDA: (
            "la firma Ed25519 no corresponde a la clave pública del convenio; firme los bytes "
            "exactos del valor con la clave privada de la dependencia"
        ),
        CONVENIO_NO_VIGENTE: (
            "el convenio no está vigente (estado o fechas de vigencia); renueve o reactive el "
            "convenio con el operador antes de reenviar"
        ),
        MENSAJE_ILEGIBLE: (
            "el valor no es Avro en formato Confluent legible con un esquema registrado; "
            "serialice con un esquema publicado del contrato"
        ),
        ESQUEMA_NO_PERMITIDO: (
            "el esquema (subject y versión) no está permitido por el convenio; use una versión "
            "listada en contracts del convenio"
        ),
        ESQUEMA_NO_CONVENIDO: (
            "el convenio permite, con cada número de versión, el esquema exacto que el hub "
            "registró en su bitácora para ella (huella SHA-256 de su forma canónica), no otro al "
            "que el registro dé después ese número. Qué hacer: la dependencia serializa con el "
            "esquema convenido, o registra el suyo como una versión nueva del contrato y el "
            "convenio se modifica para permitirla"
        ),
        CONVENIO_NO_COINCIDE: (
            "el agreement_id del conjunto no coincide con el convenio del encabezado y del tema"
        ),
        MENSAJE_REPETIDO: (
            "este message_id ya se recibió y procesó en otra posición del tema; no se aplica "
            "de nuevo. Use un message_id nuevo para un envío nuevo"
        ),
        PROGRAMA_FUERA_DE_CONVENIO: (
            "el programa del elemento no forma parte del convenio; corrija clave_programa"
        ),
        CAMPO_FUERA_DE_ALCANCE: (
            "el elemento trae un campo fuera del alcance del convenio (limitación de finalidad); "
            "no envíe ese campo o amplíe el alcance del convenio"
        ),
        REGISTRO_RECHAZADO: "el registro central no puede aplicar el elemento",
        REFERENCIA_REPETIDA: (
            "otro elemento de este conjunto ya trae la misma reference_id con otro contenido; "
            "una reference_id aparece una vez por conjunto de cambios (la clave de idempotencia "
            "es convenio, message_id y reference_id): envíe este elemento en otro conjunto"
        ),
    }
)

#: Codes that refuse the whole change set.
SET_LEVEL_REASONS: Final = frozenset(
    {
        CONVENIO_DESCONOCIDO,
        CONVENIO_DADO_DE_BAJA,
        TOPICO_INCORRECTO,
        FIRMA_INVALIDA,
        CONVENIO_NO_VIGENTE,
        MENSAJE_ILEGIBLE,
        ESQUEMA_NO_PERMITIDO,
        ESQUEMA_NO_CONVENIDO,
        CONVENIO_NO_COINCIDE,
        MENSAJE_REPETIDO,
    }
)


def describe(code: str, detail: str | None = None) -> str:
    """The Spanish text of ``code`` (gatekeeper or validation), with a detail when given."""
    from hub.validation.issues import REASON_CODES

    text = GATEKEEPER_REASONS.get(code) or REASON_CODES.get(code) or code
    return f"{text}: {detail}" if detail else text
