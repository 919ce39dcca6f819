"""Per-field converters: the text of one cell to the canonical typed value of its field.

A converter takes the stripped, non-empty text of a cell and returns the value, or raises a
``ValueError`` (``FieldConversionError`` carries a machine-readable ``code``) with a Spanish
message; the mapper turns it into a ``ValidationIssue`` of the row. Converters are built once per
layout.

Types follow the Avro contracts: dates are ``datetime.date``, amounts ``Decimal``, yes/no fields
``bool``, counts ``int``; names are upper case with single spaces; codes go through the field's
code table (case- and accent-insensitive) and then through the field's type.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import Final

from hub.agreements.dateformat import DateFormat
from hub.agreements.layout import FieldSource, FileLayout
from hub.validation.amounts import parse_amount

__all__ = [
    "AMOUNT_FIELDS",
    "BOOLEAN_FIELDS",
    "DATE_FIELDS",
    "INTEGER_FIELDS",
    "NAME_FIELDS",
    "SEX_CODES",
    "Converter",
    "FieldConversionError",
    "amount_converter",
    "fold",
    "is_identity",
    "make_converter",
    "parse_boolean",
]

Converter = Callable[[str], object]

DATE_FIELDS: Final = frozenset(
    {"effective_date", "fecha_nacimiento", "fecha_beneficio", "fecha_levantamiento"}
)
AMOUNT_FIELDS: Final = frozenset(
    {"monto", "ingreso_trabajo", "ingreso_transferencias", "ingreso_programas", "ingreso_otros"}
)
INTEGER_FIELDS: Final = frozenset({"cuartos_dormir", "edad", "grado_aprobado", "num_integrante"})
BOOLEAN_FIELDS: Final = frozenset(
    {
        "titular",
        "discapacidad",
        "indigena",
        "electricidad",
        "chimenea",
        "asiste_escuela",
        "trabaja",
        "seguridad_social",
        "afore",
        "pension_contributiva",
        "pension_no_contributiva",
        *(f"inseg_alim_{i}" for i in range(1, 13)),
    }
)
NAME_FIELDS: Final = frozenset({"primer_apellido", "segundo_apellido", "nombre", "domicilio"})
#: Fields written in upper case without further conversion (keys, enums, codes).
_UPPER_FIELDS: Final = frozenset(
    {
        "curp",
        "operation",
        "clave_programa",
        "tipo_beneficio",
        "material_piso",
        "material_techo",
        "material_muros",
        "fuente_agua",
        "drenaje",
        "combustible_cocina",
        "parentesco",
        "nivel_escolar",
        "afiliacion_salud",
    }
)
#: How agencies write sex when their agreement declares no code table (RENAPO: H, M, X).
SEX_CODES: Final = {
    "H": "H",
    "M": "M",
    "X": "X",
    "HOMBRE": "H",
    "MUJER": "M",
    "MASCULINO": "H",
    "FEMENINO": "M",
    "NO BINARIO": "X",
}
_BOOLEANS: Final = {
    "S": True,
    "SI": True,
    "1": True,
    "TRUE": True,
    "VERDADERO": True,
    "N": False,
    "NO": False,
    "0": False,
    "FALSE": False,
    "FALSO": False,
}


class FieldConversionError(ValueError):
    """A cell's text does not convert; ``code`` names the problem for machines.

    Codes follow ``hub.validation.issues.REASON_CODES`` (``BOOLEAN_INVALID``); the mapping adds
    ``CODE_UNKNOWN`` (value not in the field's code table) and ``INTEGER_INVALID``.
    """

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


def fold(text: str) -> str:
    """Upper case without accents and with single spaces, for lookups (``Sí`` → ``SI``)."""
    text = " ".join(text.upper().split())
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", stripped)


def parse_boolean(text: str) -> bool:
    """``S``/``N``, ``SI``/``NO``, ``1``/``0``, ``TRUE``/``FALSE`` (any case, accents or not)."""
    value = _BOOLEANS.get(text.upper())
    if value is None:
        value = _BOOLEANS.get(fold(text))
        if value is None:
            raise FieldConversionError(
                "BOOLEAN_INVALID", f"'{text}' no es un valor sí/no; use S o N (también SI/NO, 1/0)"
            )
    return value


def _name(text: str) -> str:
    return " ".join(text.upper().split())


def _upper(text: str) -> str:
    return text.upper()


def _birth_state(text: str) -> str:
    # a RENAPO code (CS, NE) or an INEGI CVE_ENT, which agencies often write unpadded (7)
    return text.zfill(2) if text.isdigit() else text.upper()


def _text(text: str) -> str:
    return text


def is_identity(convert: Converter) -> bool:
    """Whether ``convert`` returns the text as it is (a mapper may then skip calling it)."""
    return convert is _text


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise FieldConversionError("INTEGER_INVALID", f"'{text}' no es un número entero") from None


def _date_converter(fmt: str, layout: FileLayout) -> Converter:
    compiled = DateFormat(fmt)
    parse = compiled.parse
    if layout.format != "xlsx":
        return parse

    def parse_cell(text: str) -> date:
        # xlsx date cells arrive in ISO whatever the agency sees on screen
        try:
            return parse(text)
        except ValueError:
            try:
                return date.fromisoformat(text)
            except ValueError:
                pass
            raise

    return parse_cell


def amount_converter(field: str, layout: FileLayout) -> Callable[[str], Decimal]:
    """Amounts with the layout's separators (``hub.validation.amounts.parse_amount``)."""
    decimal_separator = layout.decimal_separator
    thousands_separator = layout.thousands_separator

    def amount(text: str) -> Decimal:
        return parse_amount(
            text,
            decimal_separator=decimal_separator,
            thousands_separator=thousands_separator,
            field=field,
        )

    return amount


def type_converter(field: str, source: FieldSource, layout: FileLayout) -> Converter:
    """The converter of ``field`` by its type alone (no code table)."""
    if field in DATE_FIELDS:
        return _date_converter(source.format or layout.date_format, layout)
    if field in AMOUNT_FIELDS:
        return amount_converter(field, layout)
    if field in BOOLEAN_FIELDS:
        return parse_boolean
    if field in INTEGER_FIELDS:
        return _integer
    if field in NAME_FIELDS:
        return _name
    if field in _UPPER_FIELDS:
        return _upper
    if field == "entidad_nacimiento":
        return _birth_state
    return _text


def _code_converter(field: str, codes: Mapping[str, str], then: Converter) -> Converter:
    table = {fold(value): value for value in codes.values()}
    table.update({fold(key): value for key, value in codes.items()})
    exact = dict(table)
    exact.update(codes)
    allowed = ", ".join(codes)

    def lookup(text: str) -> object:
        value = exact.get(text)
        if value is None:
            value = table.get(fold(text))
            if value is None:
                raise FieldConversionError(
                    "CODE_UNKNOWN",
                    f"'{text}' no está en la tabla de códigos de '{field}'; "
                    f"valores permitidos: {allowed}",
                )
        return then(value)

    return lookup


def make_converter(field: str, source: FieldSource, layout: FileLayout) -> Converter:
    """The converter of one mapped field: its code table (declared or default), then its type."""
    convert = type_converter(field, source, layout)
    if source.codes is not None:
        return _code_converter(field, source.codes, convert if convert is not _text else _text)
    if field == "sexo":
        return _code_converter(field, SEX_CODES, _text)
    return convert
