"""Validation issues: the stable reason codes and their Spanish descriptions, in one place."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal

__all__ = [
    "REASON_CODES",
    "WARNING_CODES",
    "Severity",
    "ValidationIssue",
    "has_errors",
    "make_issue",
]

Severity = Literal["error", "warning"]

#: Every reason code the validation can give, with the Spanish text agencies read in their
#: rejection reports. Codes are stable: receipts, quarantine headers and metrics use them.
REASON_CODES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "REQUIRED": "falta un dato obligatorio",
        "OPERATION_INVALID": "la operación no es válida; use ALTA, CAMBIO, BAJA o PAGO",
        "CURP_LENGTH": "la CURP debe tener exactamente 18 caracteres",
        "CURP_STRUCTURE": (
            "la CURP no tiene la estructura oficial: 4 letras, 6 dígitos, 6 letras, "
            "1 letra o dígito y 1 dígito, en mayúsculas y sin espacios"
        ),
        "CURP_CHECK_DIGIT": (
            "el dígito verificador de la CURP (posición 18) no corresponde; "
            "revise que la CURP esté bien capturada"
        ),
        "CURP_DATE": "la fecha de nacimiento contenida en la CURP (posiciones 5 a 10) no existe",
        "CURP_FUTURE_DATE": "la fecha de nacimiento contenida en la CURP está en el futuro",
        "CURP_SEX": "el sexo en la CURP (posición 11) debe ser H, M o X",
        "CURP_STATE": (
            "la entidad de nacimiento en la CURP (posiciones 12 y 13) no es una clave de RENAPO"
        ),
        "CURP_INCONVENIENT_WORD": (
            "las primeras cuatro letras de la CURP forman una palabra inconveniente, "
            "combinación que RENAPO nunca asigna"
        ),
        "CURP_NAME_MISMATCH": (
            "las letras de la CURP no corresponden al nombre o apellidos del registro"
        ),
        "CURP_DATE_MISMATCH": "la fecha de nacimiento de la CURP no coincide con la del registro",
        "CURP_SEX_MISMATCH": "el sexo de la CURP no coincide con el del registro",
        "CURP_STATE_MISMATCH": (
            "la entidad de nacimiento de la CURP no coincide con la del registro"
        ),
        "GEO_FORMAT": "la clave geográfica de INEGI está mal formada",
        "GEO_INCONSISTENT": "las claves geográficas del registro no concuerdan entre sí",
        "GEO_UNKNOWN_STATE": "la entidad federativa no existe en el catálogo de INEGI",
        "GEO_UNKNOWN_MUNICIPALITY": "el municipio no existe en el catálogo de INEGI",
        "GEO_LOCALITY_NOT_IN_CATALOG": (
            "la localidad no está en el catálogo de localidades de referencia "
            "(el catálogo es parcial; se acepta con advertencia)"
        ),
        "BIRTH_STATE_INVALID": (
            "la entidad de nacimiento no es una clave válida "
            "(clave de RENAPO de dos letras, como DF o NE, o CVE_ENT de INEGI)"
        ),
        "DATE_FORMAT": "la fecha no es válida; use el formato AAAA-MM-DD",
        "DATE_FUTURE": "la fecha está en el futuro",
        "DATE_TOO_OLD": "la fecha es demasiado antigua para ser verosímil",
        "DATE_BEFORE_BIRTH": "la fecha es anterior a la fecha de nacimiento",
        "AMOUNT_FORMAT": "el monto no es un número válido",
        "AMOUNT_NEGATIVE": "el monto no puede ser negativo",
        "AMOUNT_PRECISION": "el monto tiene más de dos decimales",
        "AMOUNT_TOO_LARGE": "el monto excede el máximo verosímil para un apoyo",
        "NAME_INVALID": "el nombre o apellido contiene caracteres no permitidos o está vacío",
        "SEX_INVALID": "el sexo debe ser H (hombre), M (mujer) o X (no binario)",
        "BOOLEAN_INVALID": "el valor debe ser verdadero o falso",
        # codes of the agency-side mapping of a file (producers.mapping), read in its summary
        "ROW_COLUMNS": (
            "la fila no tiene el número de columnas del convenio; revise delimitadores dentro "
            "de los valores o columnas faltantes"
        ),
        "CODE_UNKNOWN": "el valor no está en la tabla de códigos que el convenio declara",
        "INTEGER_INVALID": "el valor debe ser un número entero",
        "VALUE_INVALID": "el valor no es válido para el campo",
    }
)

#: Codes that do not make an item fail: it is accepted and the agency is told.
WARNING_CODES: Final = frozenset({"GEO_LOCALITY_NOT_IN_CATALOG"})


@dataclass(frozen=True, slots=True)
class ValidationIssue:
    """One problem with one field of one item."""

    field: str
    code: str
    message: str
    severity: Severity = "error"

    @property
    def is_error(self) -> bool:
        """Whether the item must be rejected because of this issue."""
        return self.severity == "error"


def make_issue(field: str, code: str, detail: str | None = None) -> ValidationIssue:
    """An issue with the code's standard Spanish text, plus a detail about this value."""
    text = REASON_CODES[code]
    message = f"{text}: {detail}" if detail else text
    severity: Severity = "warning" if code in WARNING_CODES else "error"
    return ValidationIssue(field, code, message, severity)


def has_errors(issues: Iterable[ValidationIssue]) -> bool:
    """Whether any issue is an error (warnings do not reject an item)."""
    return any(issue.severity == "error" for issue in issues)
