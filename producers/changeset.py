"""Change sets: canonical records into ChangeSet items, chunks and Confluent-framed Avro bytes.

An item is ``reference_id, operation, effective_date, person, benefit, geography`` (see
``avro_schemas/mx.gob.sisi.padron.ChangeSet``). Avro writes a record as the plain concatenation of
its fields, so the last three fields of an item (its *tail*) are encoded once per record with
fastavro and kept as bytes: the snapshot stores them (compact; their hash without the payment
date is the record's change hash, ``producers.tail_key``), a BAJA reuses them without
re-reading anything, and a change set is assembled by concatenating the header, the item
prefixes and the tails. ``fastavro`` reads the result back
exactly like a record written in one go (the tests check it).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Final

from fastavro import parse_schema

from hub.contracts.wire import RecordEncodeError
from hub.contracts.wire import header as wire_header
from hub.fields import PERSON_FIELDS
from producers.avro_writer import compile_writer, epoch_days
from producers.tail_writer import (
    PERIODICIDAD,
    compile_tail,
    content_hash,
    guarded,
    item_field_types,
    item_scope,
    periodicidad_symbol,
)

__all__ = [
    "EPOCH",
    "OPERATIONS",
    "PERIODICIDAD",
    "ChangeSetCodec",
    "ChangeSetHeader",
    "content_hash",
    "encode_long",
    "encode_string",
    "epoch_days",
    "frame_items",
]

EPOCH: Final = date(1970, 1, 1)
#: Operation symbols in the order of the Avro enum (the index is what goes on the wire).
OPERATIONS: Final = ("ALTA", "CAMBIO", "BAJA", "PAGO")
_PERSON: Final = PERSON_FIELDS
_ZERO: Final = Decimal("0.00")


def encode_long(value: int) -> bytes:
    """Avro ``int``/``long``: zig-zag, then base-128 varint."""
    n = (value << 1) ^ (value >> 63)
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


_OP_BYTES: Final = {op: encode_long(i) for i, op in enumerate(OPERATIONS)}
_SMALL_LONGS: Final = tuple(encode_long(i) for i in range(64))
#: Encoded effective dates (days since the epoch), shared by every item of a delivery.
_DAYS: dict[int, bytes] = {}
_DAYS_LIMIT: Final = 100_000


def _days_bytes(effective_days: int) -> bytes:
    days = _DAYS.get(effective_days)
    if days is None:
        days = encode_long(effective_days)
        if len(_DAYS) < _DAYS_LIMIT:  # a delivery has a few thousand distinct dates
            _DAYS[effective_days] = days
    return days


def encode_string(value: str) -> bytes:
    """Avro ``string``: length, then UTF-8 bytes."""
    data = value.encode("utf-8")
    return encode_long(len(data)) + data


@dataclass(frozen=True, slots=True)
class ChangeSetHeader:
    """The header of one change set (one chunk of a delivery)."""

    message_id: str
    transaction_id: str
    sender_id: str
    agreement_id: str
    sent_at: datetime
    chunk_index: int
    chunk_count: int

    def encode(self, item_count: int) -> bytes:
        """The header fields, Avro-encoded, ``item_count`` included."""
        millis = int(self.sent_at.astimezone(UTC).timestamp() * 1000)
        return b"".join(
            (
                encode_string(self.message_id),
                encode_string(self.transaction_id),
                encode_string(self.sender_id),
                encode_string(self.agreement_id),
                encode_long(millis),
                encode_long(self.chunk_index),
                encode_long(self.chunk_count),
                encode_long(item_count),
            )
        )


class ChangeSetCodec:
    """Encodes items and change sets for one registered ChangeSet schema (id and definition).

    ``scope`` is the agreement's fields in scope: anything else is sent as null (purpose
    limitation at the source). ``periodicity`` is the agreement's benefit periodicity, written
    in schema versions that have ``periodicidad``.
    """

    def __init__(
        self,
        schema_id: int,
        definition: Mapping[str, Any],
        *,
        scope: Collection[str] | None = None,
        periodicity: str | None = None,
    ) -> None:
        self.schema_id = schema_id
        self.definition = definition
        self.parsed = parse_schema(dict(definition))
        fields = item_field_types(definition)
        tail_schema = {
            "type": "record",
            "name": "ItemTail",
            "namespace": "mx.gob.sisi.padron.producer",
            "fields": [
                {"name": fields[name]["name"], "type": fields[name]["type"]}
                for name in ("person", "benefit", "geography")
            ],
        }
        self.tail_schema = parse_schema(tail_schema)
        self._write_person = compile_writer(fields["person"]["type"], "mx.gob.sisi.padron")
        self._write_benefit = compile_writer(fields["benefit"]["type"], "mx.gob.sisi.padron")
        self._write_geography = compile_writer(fields["geography"]["type"], "mx.gob.sisi.padron")
        self._scope = item_scope(scope)
        self._periodicidad = periodicidad_symbol(periodicity)
        self._prefix = wire_header(schema_id)
        self._encode_tail = guarded(
            compile_tail(fields, scope=self._scope, periodicidad=self._periodicidad)
        )

    def sub_records(
        self, values: Mapping[str, object]
    ) -> tuple[dict[str, object], dict[str, object] | None, dict[str, object] | None]:
        """``(person, benefit, geography)`` records from canonical values (scope applied)."""
        scope = self._scope
        get: Callable[[str], object] = (
            values.get
            if scope is None
            else lambda name: values.get(name) if name in scope else None
        )

        person = {name: get(name) for name in _PERSON}
        if person["primer_apellido"] is None:
            person["primer_apellido"] = ""
        if person["nombre"] is None:
            person["nombre"] = ""
        benefit: dict[str, object] | None = None
        if get("clave_programa") is not None:
            monto = get("monto")
            benefit = {
                "clave_programa": get("clave_programa"),
                "tipo_beneficio": get("tipo_beneficio") or "",
                "monto": monto if monto is not None else _ZERO,
                "fecha_beneficio": get("fecha_beneficio"),
                "titular": get("titular"),
                "periodicidad": self._periodicidad,
            }
        geography: dict[str, object] | None = None
        if get("cve_ent") is not None and get("cve_mun") is not None:
            geography = {
                "cve_ent": get("cve_ent"),
                "cve_mun": get("cve_mun"),
                "cve_loc": get("cve_loc"),
                "domicilio": get("domicilio"),
                "ageb": get("ageb"),
            }
        return person, benefit, geography

    def encode_tail(self, values: Mapping[str, object]) -> bytes:
        """The Avro bytes of ``person, benefit, geography`` for one canonical record.

        Written straight from ``values`` (``producers.tail_writer``): the same bytes as
        ``encode_tail_records(*sub_records(values))`` without shaping the sub-records.
        """
        return self._encode_tail(values)

    def encode_tail_records(
        self,
        person: Mapping[str, object],
        benefit: Mapping[str, object] | None,
        geography: Mapping[str, object] | None,
    ) -> bytes:
        """The tail of already-shaped sub-records (as fastavro decodes them)."""
        buf = bytearray()
        try:
            self._write_person(buf, person)
            self._write_benefit(buf, benefit)
            self._write_geography(buf, geography)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise RecordEncodeError(
                f"el registro no cumple el esquema: {exc!r}",
                hint="revise tipos, campos obligatorios y valores de enum.",
            ) from exc
        return bytes(buf)

    @staticmethod
    def encode_item(reference_id: str, operation: str, effective_days: int, tail: bytes) -> bytes:
        """One item: its prefix (reference, operation, effective date) and its tail."""
        data = reference_id.encode("utf-8")
        size = len(data)
        return b"".join(
            (
                _SMALL_LONGS[size] if size < 64 else encode_long(size),
                data,
                _OP_BYTES[operation],
                _days_bytes(effective_days),
                tail,
            )
        )

    @staticmethod
    def encode_items(operation: str, rows: Iterable[tuple[str, int, bytes]]) -> list[bytes]:
        """``encode_item`` of many ``(reference_id, effective_days, tail)`` of one operation."""
        op = _OP_BYTES[operation]
        small = _SMALL_LONGS
        known_days = _DAYS.get
        items = []
        for reference_id, effective_days, tail in rows:
            data = reference_id.encode("utf-8")
            size = len(data)
            days = known_days(effective_days) or _days_bytes(effective_days)
            prefix = small[size] if size < 64 else encode_long(size)
            items.append(b"".join((prefix, data, op, days, tail)))
        return items

    @property
    def prefix(self) -> bytes:
        """The Confluent wire prefix of this schema: magic byte and schema id."""
        return self._prefix

    def frame(self, header: ChangeSetHeader, items: Sequence[bytes]) -> bytes:
        """The Kafka value: Confluent prefix, header, then the items as one Avro array block."""
        return frame_items(self._prefix, header, items)


def frame_items(prefix: bytes, header: ChangeSetHeader, items: Sequence[bytes]) -> bytes:
    """``ChangeSetCodec.frame`` with the Confluent prefix (magic byte and schema id) given."""
    if not items:
        raise ValueError("un conjunto de cambios necesita al menos un elemento")
    return b"".join((prefix, header.encode(len(items)), encode_long(len(items)), *items, b"\x00"))
