"""Bulk inserts for the writer's hot path: an ``INSERT`` compiled once, fed plain tuples.

SQLAlchemy's executemany spends ~10 µs per row building and processing parameters, more than the
databases take to store the row. Here the statement comes from SQLAlchemy's own dialect insert
construct (so ``ON CONFLICT DO NOTHING`` is rendered by the dialect) and tuples go straight to the
driver as an executemany of the single-row statement (measured here: multi-row VALUES is 3-4x
slower on SQLite, and psycopg re-parses long statements on every call). On PostgreSQL, rows that
cannot conflict (no ``conflict`` target) go in with ``COPY ... FROM STDIN`` on the same connection
and transaction; the idempotency claim keeps its ``INSERT ... ON CONFLICT DO NOTHING``. The
multi-row form (``multirow=True``, the ``VALUES (...)`` group repeated as SQLAlchemy's
"insertmanyvalues" does) is kept for PostgreSQL callers that want it. SQLite gets dates and
times as the same text SQLAlchemy stores, so core and ORM reads see ordinary values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Date, DateTime, Table
from sqlalchemy.dialects import postgresql, sqlite

__all__ = ["BulkInsert"]

_PG_DIALECT = postgresql.psycopg.dialect(paramstyle="format")  # type: ignore[no-untyped-call]
_SQLITE_DIALECT = sqlite.pysqlite.dialect(paramstyle="qmark")
_MAX_PARAMS = 30_000  # below SQLite's 32,766 and PostgreSQL's 65,535 bind parameters


def _sqlite_date(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _sqlite_datetime(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


class BulkInsert:
    """``INSERT INTO table (columns) VALUES ...`` for many tuples at once, one dialect."""

    def __init__(
        self,
        table: Table,
        columns: Sequence[str],
        *,
        postgres: bool,
        conflict: Sequence[str] | None = None,
        rows_per_statement: int = 1000,
        multirow: bool = False,
    ) -> None:
        self.columns = tuple(columns)
        self.postgres = postgres
        self.multirow = multirow and postgres
        module: Any = postgresql if postgres else sqlite
        stmt = module.insert(table)
        if conflict is not None:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(conflict))
        compiled = stmt.compile(
            dialect=_PG_DIALECT if postgres else _SQLITE_DIALECT, column_keys=list(columns)
        )
        order = list(compiled.positiontup or ())
        if order != list(columns):
            raise RuntimeError(f"unexpected parameter order for {table.name}: {order}")
        sql = str(compiled)
        marker = " VALUES ("
        start = sql.index(marker) + len(marker) - 1
        end = sql.index(")", start) + 1
        self._head, self._group, self._tail = sql[:start], sql[start:end], sql[end:]
        self._per_statement = max(1, min(rows_per_statement, _MAX_PARAMS // len(columns)))
        self._sql: dict[int, str] = {}
        # PostgreSQL: rows that cannot conflict go in with COPY, its fastest bulk path
        quoted = ", ".join(f'"{c}"' for c in columns)
        copyable = postgres and conflict is None
        self._copy_sql = f'COPY "{table.name}" ({quoted}) FROM STDIN' if copyable else None
        self._dates = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, Date)]
        self._times = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, DateTime)]

    def _statement(self, rows: int) -> str:
        sql = self._sql.get(rows)
        if sql is None:
            sql = self._sql[rows] = self._head + ", ".join([self._group] * rows) + self._tail
        return sql

    def _adapt(self, rows: Sequence[tuple[Any, ...]]) -> Sequence[tuple[Any, ...]]:
        if not (self._dates or self._times):
            return rows
        # a batch repeats few distinct dates and times (its send and apply times): memoize them
        memo: dict[Any, str | None] = {}
        adapted = []
        for row in rows:
            values = list(row)
            for i in self._dates:
                value = values[i]
                if value not in memo:
                    memo[value] = _sqlite_date(value)
                values[i] = memo[value]
            for i in self._times:
                value = values[i]
                if value not in memo:
                    memo[value] = _sqlite_datetime(value)
                values[i] = memo[value]
            adapted.append(tuple(values))
        return adapted

    def _copy(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> int:
        assert self._copy_sql is not None
        driver = conn.connection.driver_connection  # the psycopg connection, same transaction
        assert driver is not None
        with driver.cursor() as cursor, cursor.copy(self._copy_sql) as copy:
            for row in rows:
                copy.write_row(row)
        return len(rows)

    def execute(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> int:
        """Insert ``rows`` (tuples in column order); returns how many rows were inserted."""
        if not rows:
            return 0
        if self.postgres and self._copy_sql is not None:
            return self._copy(conn, rows)
        if not self.multirow:
            adapted = rows if self.postgres else self._adapt(rows)
            result = conn.exec_driver_sql(self._statement(1), list(adapted))
            return int(result.rowcount)
        inserted = 0
        size = self._per_statement
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            params = tuple(value for row in chunk for value in row)
            inserted += conn.exec_driver_sql(self._statement(len(chunk)), params).rowcount
        return inserted
