"""Change sets framed by a kept reading process equal the ones framed by the delivering process."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from hub.agreements import demo_private_key
from hub.contracts import load_catalog
from hub.contracts.wire import decode
from hub.envelope import verify_envelope
from hub.settings import Settings
from producers import ProduceOptions, produce_file, snapshot
from producers.chunks import ChunkJob, framed_chunks
from producers.contract import SchemaSource
from producers.outbox import Outbox
from producers.pipeline import codec_spec
from producers.staging import stage_file
from producers.store import open_state, state_path
from tests.producers.conftest import agreement

PAM = "CONV-BIENESTAR-PAM-2026"


def _outbox(settings: Settings, summary: Any) -> list[dict[str, Any]]:
    """The delivery's stored change sets in chunk order, each signature checked."""
    source = SchemaSource.for_settings(settings)
    conn = open_state(settings, PAM)
    try:
        stored = conn.execute(
            "SELECT chunk_index, rowid, value FROM outbox WHERE transaction_id = ? "
            "ORDER BY chunk_index",
            (summary.transaction_id,),
        ).fetchall()
        envelopes = {m.message_id: m for m in Outbox(conn).unreceipted(summary.transaction_id)}
    finally:
        conn.close()
    assert [index for index, _, _ in stored] == list(range(summary.change_sets))
    assert [rowid for _, rowid, _ in stored] == sorted(rowid for _, rowid, _ in stored)
    records = []
    for _, _, value in stored:
        record = decode(bytes(value), source.writer_schema)
        headers = dict(envelopes[record["message_id"]].headers)
        assert verify_envelope(agreement(PAM).public_key, bytes(value), headers)
        records.append(record)
    return records


def test_helper_and_delivering_process_store_the_same_change_sets(
    settings: Settings, synth, tmp_path: Path
) -> None:
    first = synth(PAM, people=700, delivery=1, error_rate=0.1)
    second = synth(PAM, people=700, delivery=2, error_rate=0.1)
    found = {}
    for parts in (1, 2):  # one process: no helper; two: the first reading process frames
        mine = settings.model_copy(update={"data_dir": tmp_path / f"parts-{parts}"})
        key = demo_private_key(PAM)
        produce_file(agreement(PAM), key, ProduceOptions(input=first, parts=parts), mine)
        # delivery 2 pays in 2026-03 and 2026-04 (synth's bimesters); March's payments are sent
        options = ProduceOptions(input=second, parts=parts, period="2026-03", chunk_size=13)
        summary = produce_file(agreement(PAM), key, options, mine)
        assert summary.change_sets > 20 and summary.cambios and summary.pagos
        found[parts] = (summary, _outbox(mine, summary))
    (one, by_one), (two, by_two) = found[1], found[2]
    assert (one.altas, one.cambios, one.bajas, one.pagos) == (
        two.altas, two.cambios, two.bajas, two.pagos,
    )  # fmt: skip
    # rows staged by two processes may interleave differently from run to run, so the items
    # are compared as sets here; ``test_helper_frames_exactly_...`` compares the order
    assert [r["item_count"] for r in by_one] == [r["item_count"] for r in by_two]
    assert [r["chunk_count"] for r in by_one] == [r["chunk_count"] for r in by_two]

    def items(records: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
        found = [(i["operation"], i["reference_id"], repr(i)) for r in records for i in r["items"]]
        return sorted(found)

    assert items(by_one) == items(by_two)


def test_helper_frames_exactly_what_the_delivering_process_frames(synth, tmp_path: Path) -> None:
    path = synth(PAM, people=900, error_rate=0.2)
    found = agreement(PAM)
    schema = load_catalog().subject("mx.gob.sisi.padron.ChangeSet").version(2)
    spec = codec_spec(found, 7, schema.definition)
    settings = Settings(data_dir=tmp_path / "var")
    conn = open_state(settings, PAM)
    staged = stage_file(
        conn,
        path,
        found,
        spec,
        reference_data=settings.reference_data,
        today=date(2026, 3, 1),
        parts=2,
        keep_helper=True,
    )
    assert staged.helper is not None
    snapshot.diff_counts(conn, date(2026, 3, 1), "2026-02")  # as a delivery does first
    job = ChunkJob(
        database=state_path(settings, PAM),
        today=date(2026, 3, 1),
        period="2026-02",
        hold_bajas=False,
        size=41,
        prefix=spec.build().prefix,
        transaction_id="T",
        sender_id="BIENESTAR",
        agreement_id=PAM,
        sent_at=datetime(2026, 3, 1, tzinfo=UTC),
        chunk_count=99,
    )
    try:
        conn.execute("BEGIN IMMEDIATE")  # as while a delivery is written
        here = list(framed_chunks(conn, job))
        there = list(staged.helper.framed(job))
        conn.execute("ROLLBACK")
    finally:
        staged.helper.close()
        conn.close()
    assert len(here) > 20
    # equal but for the message id inside the header (random)
    assert [(i, n) for i, _, n, _ in here] == [(i, n) for i, _, n, _ in there]
    for (_, mine, _, a), (_, theirs, _, b) in zip(here, there, strict=True):
        assert a.replace(mine.encode(), b"") == b.replace(theirs.encode(), b"")
