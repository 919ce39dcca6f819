"""Once-per-batch statements of the writer: the program catalog entries and the delivery counters.

Plain SQL on the driver connection (see :mod:`hub.registry.bulk`): building the equivalent
SQLAlchemy upsert constructs cost about a millisecond per batch, several microseconds per item
at batch sizes of 1,000.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection

from hub.registry.bulk import driver
from hub.registry.fresh import sqlite_time
from hub.registry.items import ChangeSetHeader, as_utc

__all__ = ["BatchStatements"]

_DELIVERY = """
INSERT INTO deliveries (agreement_id, transaction_id, sender_id, chunk_count, first_chunk_index,
    last_chunk_index, items_applied, first_sent_at, last_sent_at, first_applied_at,
    last_applied_at)
VALUES ({marks})
ON CONFLICT (agreement_id, transaction_id) DO UPDATE SET
    chunk_count = {greatest}(deliveries.chunk_count, excluded.chunk_count),
    first_chunk_index = {least}(deliveries.first_chunk_index, excluded.first_chunk_index),
    last_chunk_index = {greatest}(deliveries.last_chunk_index, excluded.last_chunk_index),
    items_applied = deliveries.items_applied + excluded.items_applied,
    first_sent_at = {least}(deliveries.first_sent_at, excluded.first_sent_at),
    last_sent_at = {greatest}(deliveries.last_sent_at, excluded.last_sent_at),
    last_applied_at = excluded.last_applied_at
"""

_PROGRAMS = (
    "INSERT INTO programs (key, name, coneval_key) VALUES ({mark}, {mark}, NULL) "
    "ON CONFLICT (key) DO NOTHING"
)


class BatchStatements:
    """The per-batch upserts for one dialect."""

    def __init__(self, *, postgres: bool) -> None:
        self.postgres = postgres
        mark = "%s" if postgres else "?"
        # SQLite's two-argument min()/max() are scalar; its times are ISO text, so they compare
        least, greatest = ("least", "greatest") if postgres else ("min", "max")
        self._delivery = _DELIVERY.format(
            marks=", ".join([mark] * 11), least=least, greatest=greatest
        )
        self._programs = _PROGRAMS.format(mark=mark)

    def ensure_programs(self, conn: Connection, keys: set[str]) -> None:
        """Catalog entries for unknown programs (their key as placeholder name until seeded)."""
        if keys:
            self._executemany(conn, self._programs, [(key, key) for key in sorted(keys)])

    def delivery_row(
        self, header: ChangeSetHeader, applied: int, now: dt.datetime
    ) -> tuple[Any, ...]:
        """The parameters that count one change set in its delivery (see :meth:`record`)."""
        sent: Any = as_utc(header["sent_at"])
        at: Any = now
        if not self.postgres:
            sent, at = sqlite_time(sent), sqlite_time(now)
        return (
            header["agreement_id"],
            header["transaction_id"],
            header["sender_id"],
            header["chunk_count"],
            header["chunk_index"],
            header["chunk_index"],
            applied,
            sent,
            sent,
            at,
            at,
        )

    def record_delivery(
        self, conn: Connection, header: ChangeSetHeader, applied: int, now: dt.datetime
    ) -> None:
        """Count the batch in its delivery (chunks seen, items applied, first and last times)."""
        self.record_deliveries(conn, [self.delivery_row(header, applied, now)])

    def record_deliveries(self, conn: Connection, rows: list[tuple[Any, ...]]) -> None:
        """Count several change sets, in (agreement, delivery) order.

        The upsert locks the delivery's row until the commit (PostgreSQL): writers that count
        late in their transaction and in one order hold it briefly and cannot deadlock.
        """
        if not rows:
            return
        ordered = sorted(rows, key=lambda row: (row[0], row[1]))
        self._executemany(conn, self._delivery, ordered)

    def _executemany(self, conn: Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
        raw = driver(conn)
        if self.postgres:
            with raw.cursor() as cursor:
                cursor.executemany(sql, rows)
        else:
            raw.executemany(sql, rows)
