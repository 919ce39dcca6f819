"""A small Avro binary writer compiled from a schema: the per-record hot path of the producer.

fastavro's ``schemaless_writer`` resolves every ``["null", record]`` union by validating the
record against the branch, which costs tens of microseconds per padrón row. The change set's
item types use only records, enums, strings, booleans, ints/longs (with ``date`` and
``timestamp-millis``), ``bytes`` decimals and ``null`` unions, so this module compiles a schema
into nested closures that write exactly the Avro binary encoding for them. Anything else raises
``ContractError`` at compile time. Tests check every output against fastavro's reader.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Final

from hub.errors import ContractError

__all__ = ["Writer", "compile_writer", "epoch_days", "required_writer", "write_long"]

Writer = Callable[[bytearray, Any], None]
_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
_SMALL: Final = tuple(bytes([(i << 1) & 0x7F]) for i in range(64))


def epoch_days(value: date) -> int:
    """Avro ``date``: days since 1970-01-01."""
    return value.toordinal() - _EPOCH_ORDINAL


def write_long(buf: bytearray, value: int) -> None:
    """Append an Avro ``int``/``long`` (zig-zag varint)."""
    if 0 <= value < 64:
        buf += _SMALL[value]
        return
    n = (value << 1) ^ (value >> 63)
    while n > 0x7F:
        buf.append((n & 0x7F) | 0x80)
        n >>= 7
    buf.append(n)


def _write_string(buf: bytearray, value: Any) -> None:
    data = value.encode("utf-8")
    write_long(buf, len(data))
    buf += data


def _write_bytes(buf: bytearray, value: Any) -> None:
    write_long(buf, len(value))
    buf += value


def _write_boolean(buf: bytearray, value: Any) -> None:
    buf.append(1 if value else 0)


def _write_int(buf: bytearray, value: Any) -> None:
    write_long(buf, int(value))


def _write_date(buf: bytearray, value: Any) -> None:
    write_long(buf, value.toordinal() - _EPOCH_ORDINAL if isinstance(value, date) else int(value))


def _write_millis(buf: bytearray, value: Any) -> None:
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        value = int(aware.timestamp() * 1000)
    write_long(buf, int(value))


def _decimal_writer(scale: int) -> Writer:
    def write(buf: bytearray, value: Any) -> None:
        scaled = Decimal(value).scaleb(scale)
        unscaled = int(scaled)
        if unscaled != scaled:
            raise ValueError(f"el monto {value} tiene más de {scale} decimales")
        data = unscaled.to_bytes((unscaled.bit_length() + 8) // 8, "big", signed=True)
        write_long(buf, len(data))
        buf += data

    return write


_PRIMITIVES: Final[Mapping[str, Writer]] = {
    "string": _write_string,
    "bytes": _write_bytes,
    "boolean": _write_boolean,
    "int": _write_int,
    "long": _write_int,
}


def _full_name(schema: Mapping[str, Any], namespace: str | None) -> str:
    name = str(schema["name"])
    if "." in name:
        return name
    space = schema.get("namespace", namespace)
    return f"{space}.{name}" if space else name


def required_writer(name: str, writer: Writer) -> Writer:
    """``writer`` for a field that must not be null (a clear error names the field)."""

    def write(buf: bytearray, value: Any) -> None:
        if value is None:
            raise ValueError(f"el campo obligatorio '{name}' es nulo")
        writer(buf, value)

    return write


class _Compiler:
    def __init__(self) -> None:
        self.named: dict[str, Writer] = {}

    def compile(self, schema: Any, namespace: str | None) -> Writer:
        if isinstance(schema, str):
            if schema in _PRIMITIVES:
                return _PRIMITIVES[schema]
            if schema == "null":
                return lambda buf, value: None
            key = schema if "." in schema or namespace is None else f"{namespace}.{schema}"
            found = self.named.get(key) or self.named.get(schema)
            if found is None:
                raise ContractError(f"tipo Avro desconocido: {schema}")
            return found
        if isinstance(schema, list):
            return self._union(schema, namespace)
        kind = schema.get("type")
        logical = schema.get("logicalType")
        if kind == "record":
            return self._record(schema, namespace)
        if kind == "enum":
            index = {symbol: i for i, symbol in enumerate(schema["symbols"])}
            writer: Writer = lambda buf, value: write_long(buf, index[value])  # noqa: E731
            self.named[_full_name(schema, namespace)] = writer
            return writer
        if kind == "int" and logical == "date":
            return _write_date
        if kind == "long" and logical == "timestamp-millis":
            return _write_millis
        if kind == "bytes" and logical == "decimal":
            return _decimal_writer(int(schema.get("scale", 0)))
        if isinstance(kind, str) and kind in _PRIMITIVES:
            return _PRIMITIVES[kind]
        raise ContractError(f"tipo Avro no soportado por el productor: {kind}")

    def _union(self, branches: list[Any], namespace: str | None) -> Writer:
        if len(branches) != 2 or "null" not in branches:
            raise ContractError("solo se admiten uniones de null con un tipo")
        null_index = branches.index("null")
        other = self.compile(branches[1 - null_index], namespace)
        null_tag = bytes([null_index << 1])
        value_tag = bytes([(1 - null_index) << 1])

        def write(buf: bytearray, value: Any) -> None:
            if value is None:
                buf += null_tag
            else:
                buf += value_tag
                other(buf, value)

        return write

    def _record(self, schema: Mapping[str, Any], namespace: str | None) -> Writer:
        full = _full_name(schema, namespace)
        inner = full.rsplit(".", 1)[0] if "." in full else None
        fields: list[tuple[str, Writer]] = []
        for field in schema["fields"]:
            writer = self.compile(field["type"], inner)
            nullable = isinstance(field["type"], list) and "null" in field["type"]
            if not nullable:
                writer = required_writer(field["name"], writer)
            fields.append((field["name"], writer))
        frozen = tuple(fields)

        def write(buf: bytearray, value: Any) -> None:
            get = value.get
            for name, field_writer in frozen:
                field_writer(buf, get(name))

        self.named[full] = write
        return write


def compile_writer(schema: Any, namespace: str | None = None) -> Writer:
    """A writer for ``schema`` (a JSON definition): ``writer(buffer, record)`` appends bytes."""
    return _Compiler().compile(schema, namespace)
