"""A chain head as a file: what ``sisi audit head --json`` and ``published --save`` write, and what
``sisi audit verify --head`` reads back (also an ``AuditChainHead`` record as a Kafka tool prints
it, with its bytes in hex or base64 and ``recorded_at`` in milliseconds).

The document names the head's form (``"form": "v2"`` with ``head_signature``, the signature over
sequence, hash, time and key id; ``"v1"`` without: its signature covers only the hash).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hub.audit.chain import GENESIS_HASH, ChainHead
from hub.audit.headsig import head_form
from hub.errors import ConfigurationError

__all__ = ["head_document", "head_from_document", "read_head_file"]

_HEX = re.compile(r"[0-9a-fA-F]*")
#: names a published head's fields go by: ``sisi audit head --json`` and ``AuditChainHead``
_HASH_FIELDS = ("entry_hash", "entry_hash_hex", "hash")
_SIGNATURE_FIELDS = ("signature", "signature_hex", "signature_b64", "signature_base64")
_HEAD_SIGNATURE_FIELDS = ("head_signature", "head_signature_hex", "head_signature_b64")


def _binary(text: object, size: int, path: Path, field: str) -> bytes:
    """``size`` bytes written as hex or base64 (``sisi audit head`` gives base64 signatures)."""
    if not isinstance(text, str):
        raise ConfigurationError(
            f"debe ser texto en hexadecimal o base64, no {type(text).__name__}",
            path=path,
            field=field,
            hint="use la salida de `sisi audit head --json` o un registro AuditChainHead",
        )
    value = text.strip()
    digits = value[2:] if value[:2] in ("0x", "0X") else value
    if len(digits) == 2 * size and _HEX.fullmatch(digits):
        return bytes.fromhex(digits)
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    if len(decoded) == size:
        return decoded
    raise ConfigurationError(
        f"no es un valor de {size} bytes en hexadecimal ({2 * size} caracteres) ni en base64",
        path=path,
        field=field,
        hint="copie el valor completo tal como lo publicó el hub",
    )


def _one_of(document: Mapping[str, Any], names: tuple[str, ...], path: Path) -> tuple[str, Any]:
    for name in names:
        if document.get(name) is not None:
            return name, document[name]
    raise ConfigurationError(
        "falta en la cabeza publicada",
        path=path,
        field=names[0],
        hint="use la salida de `sisi audit head --json` o un registro AuditChainHead",
    )


def head_from_document(document: object, path: Path) -> tuple[ChainHead, str | None]:
    """A published head and its key id from ``sisi audit head --json`` or an AuditChainHead."""
    if isinstance(document, Mapping) and isinstance(document.get("value"), Mapping):
        document = document["value"]  # a record as a Kafka tool prints it
    if not isinstance(document, Mapping):
        raise ConfigurationError(
            "no es un objeto JSON con la cabeza de la cadena",
            path=path,
            hint="use la salida de `sisi audit head --json` o un registro AuditChainHead",
        )
    sequence = document.get("sequence")
    if isinstance(sequence, str) and sequence.strip().isdigit():
        sequence = int(sequence.strip())
    if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 0:
        raise ConfigurationError(
            f"debe ser un entero mayor o igual a 0, no {sequence!r}",
            path=path,
            field="sequence",
            hint="use la salida de `sisi audit head --json` o un registro AuditChainHead",
        )
    key = document.get("key_id")
    if key is not None and not isinstance(key, str):
        raise ConfigurationError("debe ser texto", path=path, field="key_id")
    if sequence == 0:
        return ChainHead(0, GENESIS_HASH, b"", None), key
    hash_field, hash_text = _one_of(document, _HASH_FIELDS, path)
    signature_field, signature_text = _one_of(document, _SIGNATURE_FIELDS, path)
    entry_hash = _binary(hash_text, len(GENESIS_HASH), path, hash_field)
    signature = _binary(signature_text, 64, path, signature_field)
    head_signature = None
    at = _moment(document.get("recorded_at"), path)
    found = next((name for name in _HEAD_SIGNATURE_FIELDS if document.get(name) is not None), None)
    if found is not None:
        head_signature = _binary(document[found], 64, path, found)
        if at is None or key is None:
            raise ConfigurationError(
                f"una cabeza con {found} necesita recorded_at y key_id: su firma los cubre",
                path=path,
                field="recorded_at" if at is None else "key_id",
                hint="use la salida de `sisi audit head --json` o un registro AuditChainHead "
                "completos",
            )
    return ChainHead(sequence, entry_hash, signature, at, head_signature, key), key


def _moment(value: object, path: Path) -> datetime | None:
    """``recorded_at`` as ``sisi audit head --json`` writes it (ISO, ``Z``) or as Avro's
    ``timestamp-millis`` (milliseconds since 1970, UTC); None when absent."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None:
            return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    raise ConfigurationError(
        f"no es una fecha y hora ({value!r})",
        path=path,
        field="recorded_at",
        hint="use la salida de `sisi audit head --json` (p. ej. 2026-11-25T04:00:00.123Z)",
    )


def read_head_file(path: Path) -> tuple[ChainHead, str | None]:
    """The head saved in ``path`` and its key id; a clear error (the file, what to do) when the
    file is missing, unreadable or not a head."""
    hint = (
        "indique un archivo guardado con `sisi audit head --json > cabeza.json` o un directorio "
        "de `sisi audit published --save DIRECTORIO`"
    )
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigurationError(
            "no existe el archivo de la cabeza publicada", path=path, hint=hint
        ) from exc
    except PermissionError as exc:
        raise ConfigurationError(
            "no hay permiso para leer el archivo de la cabeza publicada",
            path=path,
            hint=f"dé permiso de lectura (p. ej. `chmod u+r {path}`) o {hint}",
        ) from exc
    except UnicodeDecodeError as exc:
        raise ConfigurationError(
            "el archivo no es texto UTF-8: no es una cabeza publicada en JSON", path=path, hint=hint
        ) from exc
    except OSError as exc:
        raise ConfigurationError(
            f"no se pudo leer el archivo de la cabeza publicada ({exc.strerror or exc})",
            path=path,
            hint=hint,
        ) from exc
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(
            f"no es JSON válido ({exc.msg}, columna {exc.colno})",
            path=path,
            line=exc.lineno,
            hint="use la salida de `sisi audit head --json` tal cual",
        ) from exc
    return head_from_document(document, path)


def head_document(head: ChainHead, key: str | None) -> dict[str, Any]:
    """A head as `sisi audit head --json` writes it (what --head reads back).

    ``key`` is the signer's id for a head of the old form; a signed head names its own.
    """
    signed = head.head_signature is not None
    return {
        "sequence": head.sequence,
        "entry_hash": head.entry_hash.hex(),
        "signature": base64.b64encode(head.signature).decode("ascii"),
        "recorded_at": head.at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        if head.at
        else None,
        "key_id": head.key_id if signed else key,
        "head_signature": (
            base64.b64encode(head.head_signature).decode("ascii")
            if head.head_signature is not None
            else None
        ),
        "form": head_form(head).value,
    }
