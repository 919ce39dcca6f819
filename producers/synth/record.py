"""A synthetic record before it is written: canonical values, agency text, known errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Final

__all__ = ["ERROR_KINDS", "InjectedError", "SynthRecord", "Value"]

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
