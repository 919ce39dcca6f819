"""Confluent wire format: magic byte 0, 4-byte big-endian schema id, schemaless Avro body."""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Mapping
from io import BytesIO
from typing import Any

from fastavro import schemaless_reader, schemaless_writer
from fastavro.validation import validate

from hub.contracts.schema_text import ParsedSchema
from hub.errors import ContractError

__all__ = [
    "HEADER_SIZE",
    "MAGIC_BYTE",
    "RecordEncodeError",
    "SchemaResolver",
    "WireFormatError",
    "decode",
    "decode_many",
    "encode",
    "encode_many",
    "header",
    "split",
]

MAGIC_BYTE = 0
_HEADER = struct.Struct(">BI")
HEADER_SIZE = _HEADER.size

#: Gives the writer schema (fastavro-parsed) for a schema id; a mapping works too.
SchemaResolver = Callable[[int], ParsedSchema] | Mapping[int, ParsedSchema]


class WireFormatError(ContractError):
    """A Kafka value is not a Confluent-framed Avro message that decodes with its schema."""


class RecordEncodeError(ContractError):
    """A record does not match the schema it is being written with."""


def header(schema_id: int) -> bytes:
    """The 5-byte prefix for ``schema_id``."""
    if not 0 <= schema_id <= 0xFFFFFFFF:
        raise WireFormatError(f"id de esquema fuera de rango: {schema_id}")
    return _HEADER.pack(MAGIC_BYTE, schema_id)


def split(frame: bytes | bytearray | memoryview) -> tuple[int, memoryview]:
    """``(schema_id, body)`` of a framed value; typed errors on a short frame or bad magic."""
    if len(frame) < HEADER_SIZE:
        raise WireFormatError(
            f"mensaje demasiado corto ({len(frame)} bytes): el formato Confluent necesita al "
            f"menos {HEADER_SIZE}",
            hint="serialice con AvroSerializer o hub.contracts.wire.encode.",
        )
    magic, schema_id = _HEADER.unpack_from(frame)
    if magic != MAGIC_BYTE:
        raise WireFormatError(
            f"byte mágico {magic} en vez de 0: no es un mensaje en formato Confluent",
            hint="serialice con AvroSerializer o hub.contracts.wire.encode.",
        )
    return schema_id, memoryview(frame)[HEADER_SIZE:]


def _encode_error(record: Any, schema: ParsedSchema, exc: Exception) -> RecordEncodeError:
    detail = str(exc) or type(exc).__name__
    try:
        validate(record, schema, raise_errors=True)
    except Exception as validation:  # fastavro's ValidationError lists the failing field paths
        detail = str(validation)
    return RecordEncodeError(
        f"el registro no cumple el esquema: {detail}",
        hint="revise tipos, campos obligatorios y valores de enum (montos como Decimal).",
    )


def encode(schema_id: int, schema: ParsedSchema, record: Any) -> bytes:
    """One record framed for ``schema_id``."""
    out = BytesIO()
    out.write(header(schema_id))
    try:
        schemaless_writer(out, schema, record, strict_allow_default=True)
    except Exception as exc:  # fastavro raises ValueError, TypeError, KeyError, AttributeError...
        raise _encode_error(record, schema, exc) from exc
    return out.getvalue()


def encode_many(schema_id: int, schema: ParsedSchema, records: Iterable[Any]) -> list[bytes]:
    """Many records with one schema: one buffer reused, the header written once per record."""
    prefix = header(schema_id)
    out = BytesIO()
    frames: list[bytes] = []
    for record in records:
        out.seek(0)
        out.truncate()
        out.write(prefix)
        try:
            schemaless_writer(out, schema, record, strict_allow_default=True)
        except Exception as exc:
            raise _encode_error(record, schema, exc) from exc
        frames.append(out.getvalue())
    return frames


def _resolve(resolver: SchemaResolver, schema_id: int) -> ParsedSchema:
    try:
        return resolver[schema_id] if isinstance(resolver, Mapping) else resolver(schema_id)
    except KeyError as exc:
        raise WireFormatError(
            f"id de esquema {schema_id} desconocido",
            hint="consulte el Schema Registry del hub o verifique que el productor use un "
            "esquema registrado.",
        ) from exc


def _read_body(
    body: memoryview, schema_id: int, writer: ParsedSchema, reader: ParsedSchema | None
) -> Any:
    stream = BytesIO(body)
    try:
        record = schemaless_reader(stream, writer, reader)
    except Exception as exc:  # truncated bodies raise EOFError, bad unions IndexError, ...
        raise WireFormatError(
            f"el cuerpo Avro no se puede leer con el esquema {schema_id}: "
            f"{str(exc) or type(exc).__name__}",
            hint="el mensaje está truncado o se escribió con otro esquema.",
        ) from exc
    if stream.tell() != len(body):
        raise WireFormatError(
            f"sobran {len(body) - stream.tell()} bytes tras el registro (esquema {schema_id})",
            hint="el mensaje se escribió con otro esquema que el que indica su encabezado.",
        )
    return record


def decode(
    frame: bytes | bytearray | memoryview,
    resolver: SchemaResolver,
    reader_schema: ParsedSchema | None = None,
) -> Any:
    """Read one framed value; ``resolver`` gives the writer schema for the framed id."""
    schema_id, body = split(frame)
    return _read_body(body, schema_id, _resolve(resolver, schema_id), reader_schema)


def decode_many(
    frames: Iterable[bytes | bytearray | memoryview],
    resolver: SchemaResolver,
    reader_schema: ParsedSchema | None = None,
) -> list[Any]:
    """Read many framed values, resolving each distinct schema id once."""
    cache: dict[int, ParsedSchema] = {}
    records: list[Any] = []
    for frame in frames:
        schema_id, body = split(frame)
        writer = cache.get(schema_id)
        if writer is None:
            writer = cache[schema_id] = _resolve(resolver, schema_id)
        records.append(_read_body(body, schema_id, writer, reader_schema))
    return records
