"""Domain validation of padrón items: CURP, names, dates, amounts and INEGI geography.

Pure functions over values (no I/O except reading the INEGI reference catalogs once). Every
problem is a ``ValidationIssue`` with a stable reason code (``REASON_CODES``) and Spanish text.
"""

from __future__ import annotations

from hub.validation.amounts import (
    AMOUNT_CEILING,
    AmountFormatError,
    parse_amount,
    validate_amount,
)
from hub.validation.curp import (
    CurpParts,
    birth_state_renapo,
    build_curp,
    check_consistency,
    check_curp,
    check_digit,
    curp_stem,
    decode_curp,
    normalize_curp,
    validate_curp,
)
from hub.validation.dates import DATE_RULES, DateRule, coerce_date, parse_iso_date, validate_date
from hub.validation.geography import (
    REFERENCE_DATA_HINT,
    GeoCatalog,
    GeoKey,
    Locality,
    Municipality,
    State,
)
from hub.validation.issues import (
    REASON_CODES,
    WARNING_CODES,
    ValidationIssue,
    has_errors,
    make_issue,
)
from hub.validation.names import normalize_name, validate_name
from hub.validation.record import DEFAULT_REQUIRED, OPERATIONS, validate_item

__all__ = [
    "AMOUNT_CEILING",
    "DATE_RULES",
    "DEFAULT_REQUIRED",
    "OPERATIONS",
    "REASON_CODES",
    "REFERENCE_DATA_HINT",
    "WARNING_CODES",
    "AmountFormatError",
    "CurpParts",
    "DateRule",
    "GeoCatalog",
    "GeoKey",
    "Locality",
    "Municipality",
    "State",
    "ValidationIssue",
    "birth_state_renapo",
    "build_curp",
    "check_consistency",
    "check_curp",
    "check_digit",
    "coerce_date",
    "curp_stem",
    "decode_curp",
    "has_errors",
    "make_issue",
    "normalize_curp",
    "normalize_name",
    "parse_amount",
    "parse_iso_date",
    "validate_amount",
    "validate_curp",
    "validate_date",
    "validate_item",
    "validate_name",
]
