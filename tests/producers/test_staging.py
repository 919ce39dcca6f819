"""Staging across reading processes: every row once; a repeated reference keeps its first row."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest

from hub.contracts import load_catalog
from hub.settings import Settings
from producers.pipeline import codec_spec
from producers.staging import DUPLICATE_CODE, stage_file
from tests.producers.conftest import agreement

PAM = "CONV-BIENESTAR-PAM-2026"


def _stage(path: Path, parts: int) -> sqlite3.Connection:
    found = agreement(PAM)
    schema = load_catalog().subject("mx.gob.sisi.padron.ChangeSet").version(2)
    conn = sqlite3.connect(":memory:", isolation_level=None)
    stage_file(
        conn,
        path,
        found,
        codec_spec(found, 7, schema.definition),
        reference_data=Settings().reference_data,
        today=date(2026, 3, 1),
        parts=parts,
    )
    return conn


@pytest.mark.parametrize("parts", [1, 2, 3])
def test_every_row_is_staged_once_and_duplicates_keep_the_lowest_line(synth, parts: int) -> None:
    path = synth(PAM, people=300)
    lines = path.read_text(encoding="utf-8").splitlines()
    # lines[k] is physical line k + 1; repeat the reference of line 10 on lines 11 and 250
    folio = lines[9].split("|")[0]
    for k in (10, 249):
        lines[k] = "|".join([folio, *lines[k].split("|")[1:]])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    conn = _stage(path, parts)
    staged = conn.execute("SELECT count(*), count(DISTINCT reference_id) FROM staging").fetchone()
    assert staged == (298, 298)
    assert conn.execute("SELECT line FROM staging WHERE reference_id = ?", (folio,)).fetchall() == [
        (10,)
    ]
    moved = conn.execute("SELECT line, code FROM invalid ORDER BY line").fetchall()
    assert moved == [(11, DUPLICATE_CODE), (250, DUPLICATE_CODE)]
