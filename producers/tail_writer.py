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
from collections.abc import Callable, Collection, Mapping
from datetime import date
from decimal import Decimal
from typing import Any, Final

from hub.errors import ContractError
from hub.fields import PERSON_FIELDS
from producers.avro_writer import Writer, compile_writer, write_long

__all__ = [
    "PERIODICIDAD",
    "PERSON_FIELDS",
    "TailEncoder",
    "compile_tail",
    "content_hash",
    "guarded",
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


def _nullable(schema: Any) -> tuple[bool, bytes, bytes, Any]:
    """(is a null union, null tag, value tag, the non-null branch)."""
    if isinstance(schema, list) and len(schema) == 2 and "null" in schema:
        null_index = schema.index("null")
        return True, _long_bytes(null_index), _long_bytes(1 - null_index), schema[1 - null_index]
    return False, b"", b"", schema


def _value_step(name: str, field: str, schema: Any) -> Step | None:
    """A fast step for the usual field types read from ``name``; None for any other type."""
    nullable, null_tag, tag, branch = _nullable(schema)
    kind = branch if isinstance(branch, str) else branch.get("type")
    logical = None if isinstance(branch, str) else branch.get("logicalType")
    if kind == "string" and logical is None:
        if nullable:

            def nullable_string(buf: bytearray, get: Get) -> None:
                value: Any = get(name)
                if value is None:
                    buf += null_tag
                    return
                data = value.encode("utf-8")
                buf += tag
                write_long(buf, len(data))
                buf += data

            return nullable_string

        def required_string(buf: bytearray, get: Get) -> None:
            value: Any = get(name)
            if value is None:
                raise ValueError(f"el campo obligatorio '{field}' es nulo")
            data = value.encode("utf-8")
            write_long(buf, len(data))
            buf += data

        return required_string
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

        return nullable_date
    if kind == "enum" and nullable:
        symbols = {s: tag + _long_bytes(i) for i, s in enumerate(branch["symbols"])}

        def nullable_enum(buf: bytearray, get: Get) -> None:
            value = get(name)
            buf += null_tag if value is None else symbols[value]

        return nullable_enum
    if kind == "boolean" and nullable:
        true, false = tag + b"\x01", tag + b"\x00"

        def nullable_boolean(buf: bytearray, get: Get) -> None:
            value = get(name)
            buf += null_tag if value is None else (true if value else false)

        return nullable_boolean
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
) -> tuple[Step, ...]:
    """One step per field of ``record``, reading its value as ``sources`` says."""
    steps: list[Step] = []
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
            steps.append(fast)
            continue
        nullable = isinstance(schema, list) and "null" in schema
        writer = compile_writer(schema, namespace)
        if not nullable:
            writer = _required(field["name"], writer)
        branch = schema if not isinstance(schema, list) else None
        if (
            canonical is not None
            and isinstance(branch, dict)
            and branch.get("logicalType") == "decimal"
            and isinstance(default, Decimal)
        ):
            steps.append(_decimal_step(canonical, writer, default))
        else:
            steps.append(
                _generic_step(canonical, writer, default, or_default=or_default, constant=constant)
            )
    return tuple(steps)


def _required(name: str, writer: Writer) -> Writer:
    def write(buf: bytearray, value: Any) -> None:
        if value is None:
            raise ValueError(f"el campo obligatorio '{name}' es nulo")
        writer(buf, value)

    return write


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
    person, _, _ = _record_of(fields["person"]["type"])
    benefit, benefit_null, benefit_tag = _record_of(fields["benefit"]["type"])
    geography, geo_null, geo_tag = _record_of(fields["geography"]["type"])
    person_sources: dict[str, Source] = {name: (name, None, False, None) for name in PERSON_FIELDS}
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
    in_scope = (lambda name: True) if scope is None else scope.__contains__
    has_benefit = in_scope("clave_programa")
    has_geography = in_scope("cve_ent") and in_scope("cve_mun")

    def encode(values: Mapping[str, object]) -> bytes:
        buf = bytearray()
        get = values.get
        for step in person_steps:
            step(buf, get)
        if has_benefit and get("clave_programa") is not None:
            buf += benefit_tag
            for step in benefit_steps:
                step(buf, get)
        else:
            if not benefit_null:
                raise ValueError("el campo obligatorio 'benefit' es nulo")
            buf += benefit_null
        if has_geography and get("cve_ent") is not None and get("cve_mun") is not None:
            buf += geo_tag
            for step in geo_steps:
                step(buf, get)
        else:
            if not geo_null:
                raise ValueError("el campo obligatorio 'geography' es nulo")
            buf += geo_null
        return bytes(buf)

    return encode


def guarded(encode: TailEncoder) -> TailEncoder:
    """``encode`` with a value the schema cannot take reported as ``RecordEncodeError``."""

    def encode_tail(values: Mapping[str, object]) -> bytes:
        try:
            return encode(values)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            # imported here: the reading processes never load the contract tooling otherwise
            from hub.contracts.wire import RecordEncodeError

            raise RecordEncodeError(
                f"el registro no cumple el esquema: {exc!r}",
                hint="revise tipos, campos obligatorios y valores de enum.",
            ) from exc

    return encode_tail
