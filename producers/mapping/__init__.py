"""Agency files to canonical records: read any padrón file by the layout its agreement declares.

``read_records(path, layout)`` streams ``MappedRecord``s (line, canonical values, issues);
``RowReader`` and ``compile_layout``/``RowMapper`` are the two stages for callers that need them
separately (a header-only check, a preview).
"""

from __future__ import annotations

from producers.mapping.converters import FieldConversionError
from producers.mapping.mapper import MappedRecord, RowMapper, compile_layout
from producers.mapping.reader import RowReader
from producers.mapping.records import read_records

__all__ = [
    "FieldConversionError",
    "MappedRecord",
    "RowMapper",
    "RowReader",
    "compile_layout",
    "read_records",
]
