"""An item's tail (person, benefit, geography) written straight from the canonical values.

``ChangeSetCodec.sub_records`` shapes three dicts and ``avro_writer`` walks them; per padrón row
that is three dict builds, a scope lambda per field and three nested calls per value. This
module compiles, once per codec, one *step* per Avro field that reads the canonical value itself
(scope, defaults and constants resolved at compile time) and writes its bytes, so a row costs one
call per field. The bytes are exactly ``encode_tail_records(*sub_records(values))``'s; the tests
compare both on every synthetic layout and on hand-made edge cases.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from itertools import repeat
from typing import Any, Final, TypeVar, cast

from hub.errors import ContractError
from hub.fields import PERSON_FIELDS
from producers.avro_writer import Writer, compile_writer, required_writer, write_long
from producers.tail_key import PAYMENT_ONLY_FIELDS

__all__ = [
    "PERIODICIDAD",
    "PERSON_FIELDS",
    "BatchTailEncoder",
    "KeyedTailEncoder",
    "TailEncoder",
    "compile_tail",
    "compile_tail_batch",
    "compile_tail_keyed",
    "content_hash",
    "guarded",
    "guarded_batch",
    "item_field_types",
    "item_scope",
    "periodicidad_symbol",
]

#: The agreement's benefit periodicity (lowercase) → the v2 ``Periodicidad`` symbol.
PERIODICIDAD: Final[Mapping[str, str]] = {
    "unica": "UNICA",
    "mensual": "MENSUAL",
    "bimestral": "BIMESTRAL",
    "trimestral": "TRIMESTRAL",
    "semestral": "SEMESTRAL",
    "anual": "ANUAL",
}
_ZERO: Final = Decimal("0.00")
_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
_DECIMAL_MEMO_LIMIT: Final = 4096

Get = Callable[[str], object]
Step = Callable[[bytearray, Get], None]
TailEncoder = Callable[[Mapping[str, object]], bytes]
BatchTailEncoder = Callable[[Sequence[Mapping[str, object]]], list[bytes]]
#: records -> (their tails, their change hashes)
KeyedTailEncoder = Callable[[Sequence[Mapping[str, object]]], tuple[list[bytes], list[int]]]
_T = TypeVar("_T")
ValueBytes = Callable[[Any], bytes]
#: Where a field's value comes from: (canonical name or None, default, whether the default
#: replaces any falsy value, constant when there is no canonical name).
Source = tuple[str | None, object, bool, object]


def content_hash(tail: bytes) -> int:
    """A signed 64-bit hash of an item's tail: equal content, equal hash (fits SQLite INTEGER)."""
    return int.from_bytes(hashlib.blake2b(tail, digest_size=8).digest(), "big", signed=True)


def item_field_types(definition: Mapping[str, Any]) -> dict[str, Any]:
    """The ``Item`` record's field types, by name, from a ChangeSet schema definition."""
    for field in definition.get("fields", ()):
        if field["name"] == "items":
            item = field["type"]["items"]
            return {f["name"]: f for f in item["fields"]}
    raise ContractError(
        "el esquema no es un ChangeSet: no tiene el campo 'items'",
        hint="use el subject mx.gob.sisi.padron.ChangeSet que indica el convenio.",
    )


def item_scope(scope: Collection[str] | None) -> frozenset[str] | None:
    """The canonical fields an item may carry under an agreement's scope (None: all)."""
    if scope is None:
        return None
    allowed = set(scope)
    if "cvegeo" in allowed:  # the concatenated key is the same data
        allowed |= {"cve_ent", "cve_mun", "cve_loc"}
    return frozenset(allowed)


def periodicidad_symbol(periodicity: str | None) -> str | None:
    """The ``Periodicidad`` symbol of an agreement's benefit periodicity (``OTRA`` if unknown)."""
    return PERIODICIDAD.get(periodicity, "OTRA") if periodicity is not None else None


def _long_bytes(value: int) -> bytes:
    buf = bytearray()
    write_long(buf, value)
    return bytes(buf)


_SMALL_LENGTHS: Final = tuple(_long_bytes(size) for size in range(64))


def _nullable(schema: Any) -> tuple[bool, bytes, bytes, Any]:
    """(is a null union, null tag, value tag, the non-null branch)."""
    if isinstance(schema, list) and len(schema) == 2 and "null" in schema:
        null_index = schema.index("null")
        return True, _long_bytes(null_index), _long_bytes(1 - null_index), schema[1 - null_index]
    return False, b"", b"", schema


def _string_bytes(field: str, null_tag: bytes, tag: bytes, *, nullable: bool) -> ValueBytes:
    """The bytes of a (nullable) string value; a required one raises on None."""
    small = _SMALL_LENGTHS
    if nullable:

        def nullable_string(value: Any) -> bytes:
            if value is None:
                return null_tag
            data: bytes = value.encode("utf-8")
            size = len(data)
            return tag + (small[size] if size < 64 else _long_bytes(size)) + data

        return nullable_string

    def required_string(value: Any) -> bytes:
        if value is None:
            raise ValueError(f"el campo obligatorio '{field}' es nulo")
        data: bytes = value.encode("utf-8")
        size = len(data)
        return (small[size] if size < 64 else _long_bytes(size)) + data

    return required_string


def _value_step(name: str, field: str, schema: Any) -> tuple[Step, ValueBytes | None] | None:
    """A fast step for the usual field types read from ``name``; None for any other type.

    String fields also get their value encoder, used for values that rarely repeat.
    """
    nullable, null_tag, tag, branch = _nullable(schema)
    kind = branch if isinstance(branch, str) else branch.get("type")
    logical = None if isinstance(branch, str) else branch.get("logicalType")
    if kind == "string" and logical is None:
        string_bytes = _string_bytes(field, null_tag, tag, nullable=nullable)

        def string(buf: bytearray, get: Get) -> None:
            buf += string_bytes(get(name))

        return string, string_bytes
    if kind == "int" and logical == "date" and nullable:

        def nullable_date(buf: bytearray, get: Get) -> None:
            value: Any = get(name)
            if value is None:
                buf += null_tag
                return
            buf += tag
            write_long(
                buf, value.toordinal() - _EPOCH_ORDINAL if isinstance(value, date) else int(value)
            )

        return nullable_date, None
    if kind == "enum" and nullable:
        symbols = {s: tag + _long_bytes(i) for i, s in enumerate(branch["symbols"])}

        def nullable_enum(buf: bytearray, get: Get) -> None:
            value = get(name)
            buf += null_tag if value is None else symbols[value]

        return nullable_enum, None
    if kind == "boolean" and nullable:
        true, false = tag + b"\x01", tag + b"\x00"

        def nullable_boolean(buf: bytearray, get: Get) -> None:
            value = get(name)
            buf += null_tag if value is None else (true if value else false)

        return nullable_boolean, None
    return None


def _generic_step(
    name: str | None,
    writer: Writer,
    default: object = None,
    *,
    or_default: bool = False,
    constant: object = None,
) -> Step:
    """A step through the compiled writer: a field with a default, a constant or any type."""
    if name is None:
        try:
            probe = bytearray()
            writer(probe, constant)
        except (ValueError, KeyError, TypeError, AttributeError):

            def failing(buf: bytearray, get: Get) -> None:
                writer(buf, constant)  # raises, as the generic writer would, at encode time

            return failing
        fixed = bytes(probe)

        def fixed_bytes(buf: bytearray, get: Get) -> None:
            buf += fixed

        return fixed_bytes
    if or_default:

        def with_or(buf: bytearray, get: Get) -> None:
            writer(buf, get(name) or default)

        return with_or
    if default is not None:

        def with_default(buf: bytearray, get: Get) -> None:
            value = get(name)
            writer(buf, default if value is None else value)

        return with_default

    def plain(buf: bytearray, get: Get) -> None:
        writer(buf, get(name))

    return plain


def _decimal_step(name: str, writer: Writer, default: Decimal) -> Step:
    """Amounts repeat (one benefit amount for a whole padrón): their bytes are memoized."""
    memo: dict[object, bytes] = {}

    def amount(buf: bytearray, get: Get) -> None:
        value = get(name)
        if value is None:
            value = default
        try:
            found = memo.get(value)
        except TypeError:
            found = None
        if found is None:
            one = bytearray()
            writer(one, value)
            found = bytes(one)
            if type(value) is Decimal:
                if len(memo) >= _DECIMAL_MEMO_LIMIT:
                    memo.clear()
                memo[value] = found
        buf += found

    return amount


def _steps(
    record: Mapping[str, Any],
    namespace: str,
    sources: Mapping[str, Source],
    scope: Collection[str] | None,
) -> tuple[tuple[str | None, Step, ValueBytes | None], ...]:
    """Per field of ``record``: the canonical field it reads (None: none), its step and, for
    strings, the encoder of one value."""
    steps: list[tuple[str | None, Step, ValueBytes | None]] = []
    for field in record["fields"]:
        schema = field["type"]
        source = sources.get(field["name"], (None, None, False, None))
        canonical, default, or_default, constant = source
        if canonical is not None and scope is not None and canonical not in scope:
            canonical, constant = None, default  # out of scope: sent as its default (or null)
        fast = None
        if canonical is not None and default is None:
            fast = _value_step(canonical, field["name"], schema)
        if fast is not None:
            steps.append((canonical, *fast))
            continue
        nullable = isinstance(schema, list) and "null" in schema
        writer = compile_writer(schema, namespace)
        if not nullable:
            writer = required_writer(field["name"], writer)
        branch = schema if not isinstance(schema, list) else None
        if (
            canonical is not None
            and isinstance(branch, dict)
            and branch.get("logicalType") == "decimal"
            and isinstance(default, Decimal)
        ):
            steps.append((canonical, _decimal_step(canonical, writer, default), None))
        else:
            step = _generic_step(
                canonical, writer, default, or_default=or_default, constant=constant
            )
            steps.append((canonical, step, None))
    return tuple(steps)


def _record_of(schema: Any) -> tuple[Mapping[str, Any], bytes, bytes]:
    nullable, null_tag, tag, branch = _nullable(schema)
    if not isinstance(branch, dict) or branch.get("type") != "record":
        raise TypeError("se esperaba un registro")
    return branch, (null_tag if nullable else b""), tag


def compile_tail(
    fields: Mapping[str, Mapping[str, Any]],
    *,
    scope: Collection[str] | None,
    periodicidad: str | None,
    namespace: str = "mx.gob.sisi.padron",
) -> TailEncoder:
    """An encoder ``values -> tail bytes`` for the ``Item`` field types in ``fields``.

    Same rules as ``ChangeSetCodec.sub_records``: fields outside ``scope`` are null (or their
    default), a benefit is written only with a ``clave_programa`` and a geography only with
    ``cve_ent`` and ``cve_mun``. Raises what the compiled writers raise on a bad value.
    """
    return _Plan(fields, scope, periodicidad, namespace).encode


def compile_tail_batch(
    fields: Mapping[str, Mapping[str, Any]],
    *,
    scope: Collection[str] | None,
    periodicidad: str | None,
    namespace: str = "mx.gob.sisi.padron",
) -> BatchTailEncoder:
    """``compile_tail`` for many records at once: ``[encode(v) for v in values_list]``.

    The records are written field by field (a column at a time) and each field's bytes are
    memoized by value, since most of a padrón's values repeat (names, dates, places, amounts);
    a record's tail is then one join of its fields' bytes. Values the schema cannot take make
    the whole batch go through ``compile_tail``'s encoder, record by record, so the first bad
    record raises exactly what it raises there.
    """
    return _Plan(fields, scope, periodicidad, namespace).encode_many


def compile_tail_keyed(
    fields: Mapping[str, Mapping[str, Any]],
    *,
    scope: Collection[str] | None,
    periodicidad: str | None,
    namespace: str = "mx.gob.sisi.padron",
) -> KeyedTailEncoder:
    """``compile_tail_batch`` that also gives each record's change hash: ``(tails, hashes)``.

    The hash is ``content_hash`` of the tail without the payment-only fields' bytes
    (``producers.tail_key``): a row whose payment date alone moved keeps its hash. It equals
    ``content_hash(compile_tail_key(fields)(tail))`` for every tail.
    """
    return _Plan(fields, scope, periodicidad, namespace).encode_keyed


#: Fields whose values rarely repeat: their bytes are not memoized.
_UNIQUE: Final = frozenset({"curp", "domicilio"})
_MEMO_LIMIT: Final = 20_000
_BATCH_ERRORS: Final = (ValueError, KeyError, TypeError, AttributeError)


class _Column:
    """One field of a section written for many records: bytes memoized by value."""

    __slots__ = ("direct", "memo", "name", "step")

    def __init__(self, name: str | None, step: Step, direct: ValueBytes | None) -> None:
        self.name = name
        self.step = step
        self.direct = direct
        self.memo: dict[object, bytes] | None = None if name in _UNIQUE else {}

    def _one(self, value: object) -> bytes:
        buf = bytearray()
        self.step(buf, lambda _name: value)
        return bytes(buf)

    def write(self, records: Sequence[Mapping[str, object]]) -> list[bytes] | bytes:
        """Each record's bytes for this field (one ``bytes`` when the field is constant)."""
        name = self.name
        if name is None:
            return self._one(None)
        values = [record.get(name) for record in records]
        memo = self.memo
        if memo is None:
            return list(map(self.direct or self._one, values))
        try:
            return list(map(memo.__getitem__, values))
        except KeyError:
            pass
        if len(memo) >= _MEMO_LIMIT:
            memo.clear()
        found = list(map(memo.get, values))
        for i, encoded in enumerate(found):
            if encoded is None:
                value = values[i]
                encoded = memo.get(value)
                if encoded is None:
                    encoded = memo[value] = self._one(value)
                found[i] = encoded
        return cast("list[bytes]", found)  # every gap was just filled


class _Plan:
    """The steps of the three sections of a tail, and the two ways of running them."""

    def __init__(
        self,
        fields: Mapping[str, Mapping[str, Any]],
        scope: Collection[str] | None,
        periodicidad: str | None,
        namespace: str,
    ) -> None:
        person, _, _ = _record_of(fields["person"]["type"])
        benefit, self.benefit_null, self.benefit_tag = _record_of(fields["benefit"]["type"])
        geography, self.geo_null, self.geo_tag = _record_of(fields["geography"]["type"])
        person_sources: dict[str, Source] = {
            name: (name, None, False, None) for name in PERSON_FIELDS
        }
        person_sources["primer_apellido"] = ("primer_apellido", "", False, None)
        person_sources["nombre"] = ("nombre", "", False, None)
        benefit_sources: dict[str, Source] = {
            "clave_programa": ("clave_programa", None, False, None),
            "tipo_beneficio": ("tipo_beneficio", "", True, None),
            "monto": ("monto", _ZERO, False, None),
            "fecha_beneficio": ("fecha_beneficio", None, False, None),
            "titular": ("titular", None, False, None),
            "periodicidad": (None, None, False, periodicidad),
        }
        geo_sources: dict[str, Source] = {
            name: (name, None, False, None)
            for name in ("cve_ent", "cve_mun", "cve_loc", "domicilio", "ageb")
        }
        person_steps = _steps(person, namespace, person_sources, scope)
        benefit_steps = _steps(benefit, namespace, benefit_sources, scope)
        geo_steps = _steps(geography, namespace, geo_sources, scope)
        self.person_steps = tuple(step for _, step, _ in person_steps)
        self.benefit_steps = tuple(step for _, step, _ in benefit_steps)
        self.geo_steps = tuple(step for _, step, _ in geo_steps)
        self.person_columns = tuple(_Column(*plan) for plan in person_steps)
        self.benefit_columns = tuple(_Column(*plan) for plan in benefit_steps)
        self.geo_columns = tuple(_Column(*plan) for plan in geo_steps)
        #: the benefit fields left out of the change key (``producers.tail_key``)
        self.benefit_cut = frozenset(
            i for i, field in enumerate(benefit["fields"]) if field["name"] in PAYMENT_ONLY_FIELDS
        )
        self.benefit_key_steps = tuple(
            step for i, step in enumerate(self.benefit_steps) if i not in self.benefit_cut
        )
        in_scope = (lambda name: True) if scope is None else scope.__contains__
        self.has_benefit = in_scope("clave_programa")
        self.has_geography = in_scope("cve_ent") and in_scope("cve_mun")

    def encode(self, values: Mapping[str, object]) -> bytes:
        return self._encode(values, self.benefit_steps)

    def _encode(self, values: Mapping[str, object], benefit_steps: tuple[Step, ...]) -> bytes:
        buf = bytearray()
        get = values.get
        for step in self.person_steps:
            step(buf, get)
        if self.has_benefit and get("clave_programa") is not None:
            buf += self.benefit_tag
            for step in benefit_steps:
                step(buf, get)
        else:
            if not self.benefit_null:
                raise ValueError("el campo obligatorio 'benefit' es nulo")
            buf += self.benefit_null
        if self.has_geography and get("cve_ent") is not None and get("cve_mun") is not None:
            buf += self.geo_tag
            for step in self.geo_steps:
                step(buf, get)
        else:
            if not self.geo_null:
                raise ValueError("el campo obligatorio 'geography' es nulo")
            buf += self.geo_null
        return bytes(buf)

    def encode_many(self, records: Sequence[Mapping[str, object]]) -> list[bytes]:
        if not records:
            return []
        try:
            return self._columns(records, frozenset())[0]
        except _BATCH_ERRORS:
            return [self.encode(values) for values in records]

    def encode_keyed(
        self, records: Sequence[Mapping[str, object]]
    ) -> tuple[list[bytes], list[int]]:
        if not records:
            return [], []
        try:
            tails, keys = self._columns(records, self.benefit_cut)
        except _BATCH_ERRORS:
            tails = [self.encode(values) for values in records]
            key_steps = self.benefit_key_steps
            keys = [self._encode(values, key_steps) for values in records]
        return tails, list(map(content_hash, keys))

    def _columns(
        self, records: Sequence[Mapping[str, object]], cut: frozenset[int]
    ) -> tuple[list[bytes], list[bytes]]:
        """Each record's tail and its key: the tail without the ``cut`` benefit fields."""
        person = _join(self.person_columns, records, b"")[0]
        benefit, benefit_key = self._optional(
            self.benefit_columns,
            records,
            [self.has_benefit and r.get("clave_programa") is not None for r in records],
            self.benefit_tag,
            self.benefit_null,
            "benefit",
            cut,
        )
        geography = self._optional(
            self.geo_columns,
            records,
            [
                self.has_geography and r.get("cve_ent") is not None and r.get("cve_mun") is not None
                for r in records
            ],
            self.geo_tag,
            self.geo_null,
            "geography",
        )[0]
        tails = list(map(b"".join, zip(person, benefit, geography, strict=True)))
        if benefit_key is benefit:
            return tails, tails
        return tails, list(map(b"".join, zip(person, benefit_key, geography, strict=True)))

    @staticmethod
    def _optional(
        columns: tuple[_Column, ...],
        records: Sequence[Mapping[str, object]],
        present: list[bool],
        tag: bytes,
        null: bytes,
        name: str,
        cut: frozenset[int] = frozenset(),
    ) -> tuple[list[bytes], list[bytes]]:
        """A nullable record's bytes per record (and without the ``cut`` columns): its fields
        where ``present``, else null."""
        if all(present):
            return _join(columns, records, tag, cut)
        if not null:
            raise ValueError(f"el campo obligatorio '{name}' es nulo")
        if not any(present):
            nulls = [null] * len(records)
            return nulls, nulls
        which = [i for i, here in enumerate(present) if here]
        full, keyed = _join(columns, [records[i] for i in which], tag, cut)
        written = iter(full)
        whole = [next(written) if here else null for here in present]
        if keyed is full:
            return whole, whole
        written = iter(keyed)
        return whole, [next(written) if here else null for here in present]


def _join(
    columns: tuple[_Column, ...],
    records: Sequence[Mapping[str, object]],
    tag: bytes,
    cut: frozenset[int] = frozenset(),
) -> tuple[list[bytes], list[bytes]]:
    """Each record's bytes for ``columns``, after ``tag``; and the same without the ``cut``
    columns (the same list when nothing is cut)."""
    count = len(records)
    written = [column.write(records) for column in columns]

    def joined(skip: frozenset[int]) -> list[bytes]:
        parts: list[Iterable[bytes]] = [repeat(tag, count)]
        for i, values in enumerate(written):
            if i not in skip:
                parts.append(repeat(values, count) if isinstance(values, bytes) else values)
        return list(map(b"".join, zip(*parts, strict=True)))

    full = joined(frozenset())
    return (full, full) if not cut else (full, joined(cut))


def guarded(encode: TailEncoder) -> TailEncoder:
    """``encode`` with a value the schema cannot take reported as ``RecordEncodeError``."""

    def encode_tail(values: Mapping[str, object]) -> bytes:
        try:
            return encode(values)
        except _BATCH_ERRORS as exc:
            raise _encode_error(exc) from exc

    return encode_tail


def guarded_batch(
    encode_many: Callable[[Sequence[Mapping[str, object]]], _T],
) -> Callable[[Sequence[Mapping[str, object]]], _T]:
    """``guarded`` for a batch encoder, keyed or not (the first bad record's error, as one by
    one)."""

    def encode_tails(records: Sequence[Mapping[str, object]]) -> _T:
        try:
            return encode_many(records)
        except _BATCH_ERRORS as exc:
            raise _encode_error(exc) from exc

    return encode_tails


def _encode_error(exc: Exception) -> Exception:
    # imported here: the reading processes never load the contract tooling otherwise
    from hub.contracts.wire import RecordEncodeError

    return RecordEncodeError(
        f"el registro no cumple el esquema: {exc!r}",
        hint="revise tipos, campos obligatorios y valores de enum.",
    )
