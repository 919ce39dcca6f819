"""A delivery's change sets, framed from the diff: by the delivering process or by a helper.

``framed_chunks`` reads the diff (``snapshot.diff_batches``), encodes its items, cuts them into
chunks and frames each one with its header: everything a change set is before its signature.
The delivering process signs and stores what it yields; for a large file a reading process,
idle once the file is staged, runs it on its own read-only connection (``ChunkJob``), so that
reading and framing the next chunks overlaps with signing and writing the outbox.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from producers import snapshot
from producers.changeset import ChangeSetCodec, ChangeSetHeader, frame_items

__all__ = ["ChunkJob", "FramedChunk", "chunk_count", "framed_chunks", "item_chunks", "run_job"]

#: chunk index, message id, item count, framed change set (Confluent prefix, header, items)
FramedChunk = tuple[int, str, int, bytes]


@dataclass(frozen=True)
class ChunkJob:
    """What a helper process needs to frame a delivery's change sets (picklable)."""

    database: Path
    today: date
    period: str | None
    hold_bajas: bool
    size: int
    prefix: bytes
    transaction_id: str
    sender_id: str
    agreement_id: str
    sent_at: datetime
    chunk_count: int


def item_chunks(
    conn: sqlite3.Connection,
    today: date,
    period: str | None,
    size: int,
    *,
    hold_bajas: bool,
    create_index: bool = True,
) -> Iterator[list[bytes]]:
    """The diff's encoded items, ``size`` at a time.

    A chunk may span two operations, but PAGO items start a chunk of their own: a row's ALTA or
    CAMBIO and its PAGO carry the same ``reference_id``, and a change set holds each reference
    once (the hub's idempotency key is agreement, message and reference; it refuses the second
    item). BAJA rows are gone from the file, so they never share a reference with a PAGO.
    :func:`chunk_count` counts the chunks this makes.
    """
    encode_items = ChangeSetCodec.encode_items
    chunk: list[bytes] = []
    batches = snapshot.diff_batches(
        conn, today, period, hold_bajas=hold_bajas, size=size, create_index=create_index
    )
    paying = False
    for operation, rows in batches:
        if operation == "PAGO" and rows and not paying:
            paying = True
            if chunk:
                yield chunk
                chunk = []
        chunk += encode_items(operation, rows)
        while len(chunk) >= size:
            yield chunk[:size]
            chunk = chunk[size:]
    if chunk:
        yield chunk


def chunk_count(altas_cambios: int, pagos: int, bajas: int, size: int) -> int:
    """How many chunks :func:`item_chunks` makes of a diff with these item counts (``bajas``:
    the ones sent)."""
    if not pagos:
        return -(-(altas_cambios + bajas) // size)
    return -(-altas_cambios // size) + -(-(pagos + bajas) // size)


def framed_chunks(
    conn: sqlite3.Connection, job: ChunkJob, *, create_index: bool = True
) -> Iterator[FramedChunk]:
    """Every change set of the delivery, in chunk order, framed and ready to sign."""
    chunks = item_chunks(
        conn,
        job.today,
        job.period,
        job.size,
        hold_bajas=job.hold_bajas,
        create_index=create_index,
    )
    for index, items in enumerate(chunks):
        message_id = str(uuid.uuid4())
        header = ChangeSetHeader(
            message_id,
            job.transaction_id,
            job.sender_id,
            job.agreement_id,
            job.sent_at,
            index,
            job.chunk_count,
        )
        yield index, message_id, len(items), frame_items(job.prefix, header, items)


def run_job(job: ChunkJob) -> Iterator[FramedChunk]:
    """``framed_chunks`` on a read-only connection of its own (in a helper process).

    The delivering process holds the delivery's write transaction meanwhile; WAL lets this
    connection read the committed staging and snapshot, which that transaction does not touch
    until every chunk is framed.
    """
    conn = sqlite3.connect(f"{job.database.resolve().as_uri()}?mode=ro", uri=True, timeout=60.0)
    try:
        yield from framed_chunks(conn, job, create_index=False)
    finally:
        conn.close()
