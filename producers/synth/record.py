"""A synthetic record before it is written: canonical values, agency text, known errors."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Final

__all__ = ["ERROR_KINDS", "Block", "InjectedError", "SynthRecord", "Value"]

#: A canonical value: text (codes, names, INEGI keys), a date, an amount, or absent.
Value = str | date | Decimal | None

#: Every kind of error the generator injects (``tipo_error`` in the sidecar), with its meaning.
ERROR_KINDS: Final[Mapping[str, str]] = {
    "curp_digito_verificador": "CURP con dígito verificador equivocado",
    "curp_estructura": "CURP con estructura inválida (fecha con letra)",
    "municipio_inexistente": "clave de municipio que no existe en el catálogo INEGI",
    "fecha_inexistente": "fecha imposible (31 de febrero)",
    "fecha_futura": "fecha de nacimiento posterior a hoy",
    "campo_faltante": "campo obligatorio vacío",
}


@dataclass(frozen=True, slots=True)
class InjectedError:
    """One deliberate error: which canonical field and which kind (a key of ``ERROR_KINDS``)."""

    field: str
    kind: str


@dataclass(frozen=True, slots=True)
class SynthRecord:
    """One row to write.

    ``values`` holds canonical values by canonical field name (``hub.fields``); ``raw`` holds
    agency text that replaces the writer's encoding of a field (how impossible dates and broken
    keys get into the file); ``errors`` lists what was injected into this row.
    """

    reference_id: str
    values: Mapping[str, Value]
    raw: Mapping[str, str] = field(default_factory=dict)
    errors: tuple[InjectedError, ...] = ()


@dataclass(frozen=True, slots=True)
class Block:
    """Consecutive rows, column by column: what the fast writer consumes.

    ``columns`` maps canonical field names to one value per row (fields every row shares are in
    ``constants``); ``errors`` lists (row, field, agency text, kind) of the injected errors, the
    text replacing the writer's encoding of that field in that row.
    """

    size: int
    columns: Mapping[str, list[Value]]
    constants: Mapping[str, Value]
    errors: list[tuple[int, str, str, str]] = field(default_factory=list)

    @staticmethod
    def concat(blocks: list[Block]) -> Block:
        """One block with the rows of ``blocks`` (which carry no errors yet), in order."""
        if len(blocks) == 1:
            return blocks[0]
        names: dict[str, None] = {}
        for block in blocks:
            names.update(dict.fromkeys(block.columns))
            names.update(dict.fromkeys(block.constants))
        shared = {
            name: blocks[0].constants[name]
            for name in names
            if all(
                name in b.constants and b.constants[name] == blocks[0].constants[name]
                for b in blocks
            )
        }
        columns: dict[str, list[Value]] = {}
        for name in names:
            if name in shared:
                continue
            column: list[Value] = []
            for block in blocks:
                found = block.columns.get(name)
                if found is not None:
                    column += found
                else:
                    column += [block.constants.get(name)] * block.size
            columns[name] = column
        return Block(sum(b.size for b in blocks), columns, shared)

    def records(self) -> Iterator[SynthRecord]:
        """The rows as ``SynthRecord`` objects (slower; for callers that want one at a time)."""
        names = list(self.columns)
        spoiled: dict[int, list[tuple[str, str, str]]] = {}
        for row, name, text, kind in self.errors:
            spoiled.setdefault(row, []).append((name, text, kind))
        for i, row_values in enumerate(zip(*self.columns.values(), strict=True)):
            values: dict[str, Value] = dict(zip(names, row_values, strict=True))
            values.update(self.constants)
            errors = spoiled.get(i, ())
            yield SynthRecord(
                reference_id=str(values.get("reference_id") or ""),
                values=values,
                raw={name: text for name, text, _ in errors},
                errors=tuple(InjectedError(name, kind) for name, _, kind in errors),
            )
