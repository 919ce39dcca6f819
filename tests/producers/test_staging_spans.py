"""Reading processes that each read a byte range stage exactly what line-number parts stage."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest

from hub.contracts import load_catalog
from hub.settings import Settings
from producers import staging
from producers.pipeline import codec_spec
from tests.producers.conftest import agreement


def _stage(path: Path, agreement_id: str, parts: int) -> dict[str, list[tuple[object, ...]]]:
    found = agreement(agreement_id)
    schema = load_catalog().subject("mx.gob.sisi.padron.ChangeSet").version(2)
    conn = sqlite3.connect(":memory:", isolation_level=None)
    staging.stage_file(
        conn,
        path,
        found,
        codec_spec(found, 7, schema.definition),
        reference_data=Settings().reference_data,
        today=date(2026, 3, 1),
        parts=parts,
    )
    return {
        table: sorted(conn.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
        for table in ("staging", "invalid")
    }


@pytest.mark.parametrize(
    "agreement_id", ["CONV-BIENESTAR-PAM-2026", "CONV-CNBBBJ-BUEMS-2026", "CONV-LEON-JEFAS-2026"]
)
def test_byte_ranges_stage_the_same_rows_as_line_numbers(
    synth, monkeypatch: pytest.MonkeyPatch, agreement_id: str
) -> None:
    path = synth(agreement_id, people=900, error_rate=0.25)
    with_spans = {parts: _stage(path, agreement_id, parts) for parts in (1, 2, 3)}
    monkeypatch.setattr(staging, "text_spans", lambda *args: None)
    by_lines = _stage(path, agreement_id, 2)
    assert with_spans[1]["invalid"], "the file should have invalid rows"
    for parts in (2, 3):
        assert with_spans[parts] == with_spans[1] == by_lines
