"""The change key of an item's tail: its bytes without the payment-only fields.

A padrón row's tail (person, benefit, geography; see ``producers.changeset``) carries the date of
the row's last payment (``fecha_beneficio``). That date moves with every payment while the
enrollment stays the same, so the hash that decides a CAMBIO (``producers.snapshot``) is taken
over the tail with the bytes of the payment-only fields cut out. The amount stays in: a new amount
is a change of the benefit. The hub draws the same line: an enrollment's history rolls program,
benefit type, amount and titular, never the payment date (``hub.registry.history``), and a
payment travels as a PAGO item of its own.

Two ways lead to the same key:

- ``producers.tail_writer``'s keyed batch encoder writes the key while it writes the tail (the
  reading processes, for every row of a file);
- ``compile_tail_key`` finds the fields in tail bytes written earlier (a snapshot stored before
  the key existed, a live change of the SDK) by walking their Avro encoding with the schema.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

__all__ = ["PAYMENT_ONLY_FIELDS", "TAIL_SECTIONS", "TailKey", "compile_tail_key"]

#: Benefit fields that describe one payment, not the enrollment: they never make a CAMBIO.
PAYMENT_ONLY_FIELDS: Final = frozenset({"fecha_beneficio"})
#: The ``Item`` fields a tail holds, in the order they are written.
TAIL_SECTIONS: Final = ("person", "benefit", "geography")

#: tail bytes -> the key bytes, or None when the bytes do not follow the schema
TailKey = Callable[[bytes], bytes | None]
#: (data, position, cuts) -> position after the value; cuts collects (start, end) spans
_Skip = Callable[[bytes, int, list[tuple[int, int]]], int]

_FIXED_SIZES: Final = {"null": 0, "boolean": 1, "float": 4, "double": 8}


def _read_long(data: bytes, pos: int) -> tuple[int, int]:
    """A zig-zag varint at ``pos``: (value, position after it)."""
    byte = data[pos]
    pos += 1
    value = byte & 0x7F
    shift = 7
    while byte & 0x80:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
    return (value >> 1) ^ -(value & 1), pos


def _skip_long(data: bytes, pos: int, cuts: list[tuple[int, int]]) -> int:
    return _read_long(data, pos)[1]


def _skip_sized(data: bytes, pos: int, cuts: list[tuple[int, int]]) -> int:
    size, pos = _read_long(data, pos)
    end = pos + size
    if size < 0 or end > len(data):
        raise ValueError("longitud fuera del dato")
    return end


def _fixed(size: int) -> _Skip:
    def skip(data: bytes, pos: int, cuts: list[tuple[int, int]]) -> int:
        return pos + size

    return skip


class _Compiler:
    """Builds a skip function per Avro type, resolving named types as they are defined."""

    def __init__(self) -> None:
        self.named: dict[str, _Skip] = {}

    def compile(self, schema: Any, namespace: str = "") -> _Skip:
        if isinstance(schema, list):
            return self._union([self.compile(branch, namespace) for branch in schema])
        if isinstance(schema, str):
            return self._primitive(schema, namespace)
        kind = schema["type"]
        if isinstance(kind, dict | list):
            return self.compile(kind, namespace)
        if kind == "record":
            return self._record(schema, namespace)
        if kind == "enum":
            self._name(schema, namespace, _skip_long)
            return _skip_long
        if kind == "fixed":
            skip = _fixed(int(schema["size"]))
            self._name(schema, namespace, skip)
            return skip
        if kind == "array":
            return self._blocks(self.compile(schema["items"], namespace), keyed=False)
        if kind == "map":
            return self._blocks(self.compile(schema["values"], namespace), keyed=True)
        return self._primitive(kind, namespace)  # a primitive with a logical type

    def _primitive(self, name: str, namespace: str) -> _Skip:
        if name in _FIXED_SIZES:
            return _fixed(_FIXED_SIZES[name])
        if name in ("int", "long"):
            return _skip_long
        if name in ("string", "bytes"):
            return _skip_sized
        named = self.named

        def reference(data: bytes, pos: int, cuts: list[tuple[int, int]]) -> int:
            found = named.get(name) or named.get(f"{namespace}.{name}")
            if found is None:
                raise ValueError(f"tipo {name} desconocido")
            return found(data, pos, cuts)

        return reference

    def _name(self, schema: Mapping[str, Any], namespace: str, skip: _Skip) -> str:
        name = str(schema["name"])
        space = str(schema.get("namespace", namespace))
        full = name if "." in name or not space else f"{space}.{name}"
        self.named[full] = skip
        self.named.setdefault(name.rsplit(".", 1)[-1], skip)
        return full.rpartition(".")[0]

    def _record(self, schema: Mapping[str, Any], namespace: str) -> _Skip:
        fields: list[tuple[_Skip, bool]] = []

        def record(data: bytes, pos: int, cuts: list[tuple[int, int]]) -> int:
            for skip, cut in fields:
                start = pos
                pos = skip(data, pos, cuts)
                if cut:
                    cuts.append((start, pos))
            return pos

        inner = self._name(schema, namespace, record)  # before the fields: they may refer to it
        for field in schema["fields"]:
            cut = field["name"] in PAYMENT_ONLY_FIELDS
            fields.append((self.compile(field["type"], inner), cut))
        return record

    @staticmethod
    def _union(branches: list[_Skip]) -> _Skip:
        def union(data: bytes, pos: int, cuts: list[tuple[int, int]]) -> int:
            index, pos = _read_long(data, pos)
            if not 0 <= index < len(branches):
                raise ValueError("rama de unión fuera del esquema")
            return branches[index](data, pos, cuts)

        return union

    @staticmethod
    def _blocks(item: _Skip, *, keyed: bool) -> _Skip:
        def blocks(data: bytes, pos: int, cuts: list[tuple[int, int]]) -> int:
            while True:
                count, pos = _read_long(data, pos)
                if count == 0:
                    return pos
                if count < 0:
                    count = -count
                    pos = _read_long(data, pos)[1]  # the block's size in bytes
                for _ in range(count):
                    if keyed:
                        pos = _skip_sized(data, pos, cuts)
                    pos = item(data, pos, cuts)

        return blocks


def compile_tail_key(fields: Mapping[str, Mapping[str, Any]]) -> TailKey:
    """A function ``tail -> key`` for the ``Item`` field types in ``fields``.

    ``fields`` is ``producers.tail_writer.item_field_types(definition)``. The key is the tail with
    the bytes of every :data:`PAYMENT_ONLY_FIELDS` value cut out, exactly what the keyed batch
    encoder gives for the same record. None when the bytes do not follow this schema (a tail
    written under another contract version): the caller keeps what it had.
    """
    compiler = _Compiler()
    namespace = "mx.gob.sisi.padron"
    sections = [compiler.compile(fields[name]["type"], namespace) for name in TAIL_SECTIONS]

    def key(tail: bytes) -> bytes | None:
        cuts: list[tuple[int, int]] = []
        pos = 0
        try:
            for skip in sections:
                pos = skip(tail, pos, cuts)
        except (IndexError, ValueError, KeyError):
            return None
        if pos != len(tail):
            return None
        if not cuts:
            return tail
        parts = []
        start = 0
        for begin, end in cuts:
            parts.append(tail[start:begin])
            start = end
        parts.append(tail[start:])
        return b"".join(parts)

    return key
