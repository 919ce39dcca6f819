"""The mapping package exports exactly its public API."""

from __future__ import annotations

import producers.mapping as mapping


def test_exported_members() -> None:
    assert sorted(mapping.__all__) == [
        "FieldConversionError",
        "MappedRecord",
        "RowMapper",
        "RowReader",
        "compile_layout",
        "read_records",
    ]
    for name in mapping.__all__:
        assert getattr(mapping, name).__module__.startswith("producers.mapping.")
