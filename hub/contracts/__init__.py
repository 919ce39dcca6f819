"""Avro contracts: the catalog in ``avro_schemas/``, compatibility checks and the wire format."""

from __future__ import annotations

from hub.contracts.catalog import Catalog, SchemaVersion, Subject, load_catalog, load_subject
from hub.contracts.compatibility import (
    CatalogReport,
    Problem,
    check_catalog,
    check_compatibility,
    check_subject,
    ensure_compatible,
    reader_can_read,
)
from hub.contracts.modes import DEFAULT_MODE, CompatibilityMode, parse_mode
from hub.contracts.schema_text import canonical_text, fingerprint, load_definition, parse_schema
from hub.contracts.wire import (
    RecordEncodeError,
    WireFormatError,
    decode,
    decode_many,
    encode,
    encode_many,
    split,
)

__all__ = [
    "DEFAULT_MODE",
    "Catalog",
    "CatalogReport",
    "CompatibilityMode",
    "Problem",
    "RecordEncodeError",
    "SchemaVersion",
    "Subject",
    "WireFormatError",
    "canonical_text",
    "check_catalog",
    "check_compatibility",
    "check_subject",
    "decode",
    "decode_many",
    "encode",
    "encode_many",
    "ensure_compatible",
    "fingerprint",
    "load_catalog",
    "load_definition",
    "load_subject",
    "parse_mode",
    "parse_schema",
    "reader_can_read",
    "split",
]
