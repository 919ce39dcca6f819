"""The last delivered snapshot and the diff of a new full file against it, in SQL.

The snapshot maps ``reference_id`` to the content hash and the Avro tail (person, benefit,
geography) of the last record the hub was sent. A new file, staged by ``producers.staging``, is
compared in SQLite, never in Python dicts:

- ALTA   a reference the snapshot does not have;
- CAMBIO a reference whose change hash changed: the hash of the tail without the payment-only
         fields (``producers.tail_key``), so a row whose payment date alone moved is no CAMBIO;
- PAGO   with a period (``YYYY-MM``), every row with an amount not yet paid in that period whose
         payment date falls in the period's month (or that has none): a date in another month
         is a payment of another period, and is counted (``payment_months``), not sent;
- BAJA   a snapshot reference missing from the new file (but not one whose row was invalid:
         an invalid row is not a departure).

Snapshots written before the change hash existed hashed the whole tail; ``upgrade_hashes``
rehashes them from their stored tails once (and the rows the SDK wrote since the last file),
so an upgrade makes no row a CAMBIO by itself.

``apply`` makes the staged file the new snapshot (a table rename, so it costs nothing per row)
inside the caller's transaction, together with the outbox rows. ``forget`` undoes what a
receipt rejected, so the next delivery sends it again.
"""

from __future__ import annotations

import calendar
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from producers.changeset import epoch_days

__all__ = [
    "DiffCounts",
    "DiffItem",
    "apply",
    "bajas_on_hold",
    "diff_batches",
    "diff_counts",
    "diff_items",
    "forget",
    "payment_months",
    "period_end",
    "period_start",
    "record_change",
    "upgrade_hashes",
]

#: The hash a forgotten row gets: never equal to a real content hash in practice.
UNKNOWN_HASH: Final = 0

DiffItem = tuple[str, str, int, bytes]  # operation, reference_id, effective days, tail

_ALTA = (
    "SELECT s.reference_id, coalesce(s.eff, :today), s.tail FROM staging s "
    "WHERE NOT EXISTS (SELECT 1 FROM snapshot p WHERE p.reference_id = s.reference_id) "
    "ORDER BY s.rowid"
)
_CAMBIO = (
    "SELECT s.reference_id, :today, s.tail FROM staging s "
    "JOIN snapshot p ON p.reference_id = s.reference_id WHERE p.hash <> s.hash ORDER BY s.rowid"
)
#: A staged row that pays in the period: an amount, and a payment date in its month or none.
_IN_PERIOD = "s.has_amount = 1 AND (s.paid IS NULL OR s.paid BETWEEN :start AND :end)"
_PAGO = (
    "SELECT s.reference_id, coalesce(s.paid, :start), s.tail FROM staging s "
    f"WHERE {_IN_PERIOD} AND NOT EXISTS (SELECT 1 FROM payments y "
    "WHERE y.reference_id = s.reference_id AND y.period = :period) ORDER BY s.rowid"
)
_BAJA = (
    "SELECT p.reference_id, :today, p.tail FROM snapshot p "
    "WHERE NOT EXISTS (SELECT 1 FROM staging s WHERE s.reference_id = p.reference_id) "
    "AND NOT EXISTS (SELECT 1 FROM invalid i WHERE i.reference_id = p.reference_id) "
    "ORDER BY p.rowid"
)
_QUERIES: Final = (("ALTA", _ALTA), ("CAMBIO", _CAMBIO), ("PAGO", _PAGO), ("BAJA", _BAJA))


def period_start(period: str) -> date:
    """The first day of a ``YYYY-MM`` period (``ValueError`` when malformed)."""
    year, _, month = period.partition("-")
    if len(year) != 4 or len(month) != 2 or not (year + month).isdigit():
        raise ValueError(f"periodo '{period}' inválido; use AAAA-MM, por ejemplo 2026-03")
    if not 1 <= int(month) <= 12:
        raise ValueError(f"periodo '{period}' inválido: el mes va de 01 a 12")
    return date(int(year), int(month), 1)


def period_end(period: str) -> date:
    """The last day of a ``YYYY-MM`` period."""
    start = period_start(period)
    return start.replace(day=calendar.monthrange(start.year, start.month)[1])


@dataclass(frozen=True)
class DiffCounts:
    """How many items of each operation the diff yields."""

    altas: int
    cambios: int
    pagos: int
    bajas: int

    @property
    def total(self) -> int:
        return self.altas + self.cambios + self.pagos + self.bajas


def _params(today: date, period: str | None) -> dict[str, object]:
    return {
        "today": epoch_days(today),
        "period": period or "",
        "start": epoch_days(period_start(period)) if period else 0,
        "end": epoch_days(period_end(period)) if period else 0,
    }


_EPOCH: Final = date(1970, 1, 1)


def payment_months(conn: sqlite3.Connection) -> dict[str | None, int]:
    """Staged rows with an amount, by the month (``YYYY-MM``) of their payment date.

    Rows with an amount and no payment date count under None. Grouped by date in SQL (a padrón
    has few distinct payment dates), by month here.
    """
    months: dict[str | None, int] = {}
    rows = conn.execute(
        "SELECT paid, count(*) FROM staging WHERE has_amount = 1 GROUP BY paid"
    ).fetchall()
    for paid, count in rows:
        month = None if paid is None else (_EPOCH + timedelta(days=paid)).strftime("%Y-%m")
        months[month] = months.get(month, 0) + count
    return months


def _index_invalid(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE INDEX IF NOT EXISTS invalid_reference ON invalid (reference_id)")


def diff_counts(conn: sqlite3.Connection, today: date, period: str | None) -> DiffCounts:
    """Counts of each operation between ``staging`` and ``snapshot``."""
    _index_invalid(conn)
    params = _params(today, period)
    counts: dict[str, int] = {}
    for operation, query in _QUERIES:
        if operation == "PAGO" and period is None:
            counts[operation] = 0
            continue
        counted = f"SELECT count(*) FROM ({query.rsplit(' ORDER BY ', 1)[0]})"
        counts[operation] = conn.execute(counted, params).fetchone()[0]
    return DiffCounts(counts["ALTA"], counts["CAMBIO"], counts["PAGO"], counts["BAJA"])


def bajas_on_hold(conn: sqlite3.Connection) -> bool:
    """Whether some invalid row has no reference: then nobody can be told apart as gone.

    Sending a BAJA for a person whose row merely lost its reference would drop a beneficiary,
    so the delivery holds every BAJA (the references stay in the snapshot) until a file
    without such rows comes.
    """
    row = conn.execute("SELECT 1 FROM invalid WHERE reference_id IS NULL LIMIT 1").fetchone()
    return row is not None


def diff_items(
    conn: sqlite3.Connection, today: date, period: str | None, *, hold_bajas: bool = False
) -> Iterator[DiffItem]:
    """Every item of the diff, streamed: altas, cambios, pagos, bajas (file order within each)."""
    for operation, rows in diff_batches(conn, today, period, hold_bajas=hold_bajas):
        for reference_id, days, tail in rows:
            yield operation, reference_id, days, tail


def diff_batches(
    conn: sqlite3.Connection,
    today: date,
    period: str | None,
    *,
    hold_bajas: bool = False,
    size: int = 1000,
    create_index: bool = True,
) -> Iterator[tuple[str, list[tuple[str, int, bytes]]]]:
    """``diff_items`` as ``(operation, [(reference_id, effective days, tail), ...])`` batches.

    A read-only connection passes ``create_index=False`` (``diff_counts`` has created the
    index on ``invalid`` that makes the BAJA query fast; without it the answer is the same).
    """
    if create_index:
        _index_invalid(conn)
    params = _params(today, period)
    for operation, query in _QUERIES:
        if (operation == "PAGO" and period is None) or (operation == "BAJA" and hold_bajas):
            continue
        cursor = conn.execute(query, params)
        while rows := cursor.fetchmany(size):
            yield operation, rows


def apply(conn: sqlite3.Connection, period: str | None, *, hold_bajas: bool = False) -> None:
    """Make the staged file the snapshot (inside the caller's transaction).

    References whose row was invalid this time keep their previous snapshot entry (and, with
    ``hold_bajas``, so do the references missing from the file); payments of the period are
    recorded (the rows that paid in it: a payment dated in another month did not) so a second
    run for the same period pays nothing twice.
    """
    if period is not None:
        conn.execute(
            "INSERT OR IGNORE INTO payments (reference_id, period) "
            f"SELECT s.reference_id, :period FROM staging s WHERE {_IN_PERIOD}",
            _params(_EPOCH, period),
        )
    conn.execute(
        "INSERT INTO staging (reference_id, hash, tail) SELECT p.reference_id, p.hash, p.tail "
        "FROM snapshot p WHERE (? OR EXISTS (SELECT 1 FROM invalid i WHERE i.reference_id = "
        "p.reference_id)) AND NOT EXISTS (SELECT 1 FROM staging s WHERE s.reference_id = "
        "p.reference_id)",
        (1 if hold_bajas else 0,),
    )
    conn.execute("DROP TABLE snapshot")
    conn.execute("ALTER TABLE staging RENAME TO snapshot")


def record_change(conn: sqlite3.Connection, operation: str, reference_id: str, tail: bytes) -> None:
    """A single live change (SDK) reflected in the snapshot, so later file diffs agree.

    The change hash needs the contract's schema, which the SDK does not pass: the row is
    stored with the hash of its whole tail and listed for ``upgrade_hashes``, which the next
    file delivery runs before its diff.
    """
    from producers.changeset import content_hash

    if operation == "PAGO":
        return
    conn.execute("DELETE FROM snapshot WHERE reference_id = ?", (reference_id,))
    if operation != "BAJA":
        conn.execute(
            "INSERT INTO snapshot (reference_id, hash, tail) VALUES (?, ?, ?)",
            (reference_id, content_hash(tail), tail),
        )
        conn.execute(_REHASH_TABLE)
        conn.execute("INSERT OR IGNORE INTO snapshot_rehash VALUES (?)", (reference_id,))


#: ``meta`` key saying how the snapshot's hashes were taken; absent: the whole tail (before).
HASH_KEY: Final = "snapshot_hash"
HASH_VERSION: Final = "cola-sin-campos-de-pago"
_REHASH_TABLE: Final = (
    "CREATE TABLE IF NOT EXISTS snapshot_rehash (reference_id TEXT PRIMARY KEY) WITHOUT ROWID"
)
_REHASH_BATCH: Final = 5_000


def upgrade_hashes(conn: sqlite3.Connection, change_hash: Callable[[bytes], int | None]) -> int:
    """Give every snapshot row the change hash of its stored tail, where it has another hash.

    That is every row of a snapshot written before the change hash existed (``meta`` says
    which), and afterwards the rows the SDK wrote (``record_change``). Rows a receipt made
    unknown (``forget``) stay unknown; a tail ``change_hash`` cannot read (another contract
    version: it would differ anyway) keeps its hash. Runs in the caller's transaction if there
    is one, else in its own. Returns the number of rows rehashed.
    """
    own = not conn.in_transaction
    if own:
        conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(_REHASH_TABLE)
        found = conn.execute("SELECT value FROM meta WHERE key = ?", (HASH_KEY,)).fetchone()
        if found is not None and found[0] == HASH_VERSION:
            select = (
                "SELECT p.rowid, p.tail FROM snapshot p JOIN snapshot_rehash r "
                "ON r.reference_id = p.reference_id WHERE p.rowid > ? AND p.hash <> ? "
                "ORDER BY p.rowid LIMIT ?"
            )
        else:
            select = (
                "SELECT rowid, tail FROM snapshot WHERE rowid > ? AND hash <> ? "
                "ORDER BY rowid LIMIT ?"
            )
        rehashed = 0
        last = -1
        while rows := conn.execute(select, (last, UNKNOWN_HASH, _REHASH_BATCH)).fetchall():
            last = rows[-1][0]
            updates = []
            for rowid, tail in rows:
                new = change_hash(tail)
                if new is not None:
                    updates.append((new, rowid))
            conn.executemany("UPDATE snapshot SET hash = ? WHERE rowid = ?", updates)
            rehashed += len(updates)
        conn.execute("DELETE FROM snapshot_rehash")
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (HASH_KEY, HASH_VERSION)
        )
        if own:
            conn.execute("COMMIT")
    except BaseException:
        if own:
            conn.execute("ROLLBACK")
        raise
    return rehashed


def forget(
    conn: sqlite3.Connection, operation: str, reference_id: str, tail: bytes, period: str | None
) -> None:
    """Treat a rejected item as never delivered, so the next delivery sends it again.

    A rejected ALTA leaves the snapshot; a rejected CAMBIO keeps the reference with an unknown
    hash (the next file sends a CAMBIO); a rejected BAJA puts the reference back (the next file
    that lacks it sends the BAJA again); a rejected PAGO is no longer counted as paid.
    """
    if operation == "ALTA":
        conn.execute("DELETE FROM snapshot WHERE reference_id = ?", (reference_id,))
    elif operation == "CAMBIO":
        conn.execute(
            "UPDATE snapshot SET hash = ? WHERE reference_id = ?", (UNKNOWN_HASH, reference_id)
        )
    elif operation == "BAJA":
        exists = conn.execute(
            "SELECT 1 FROM snapshot WHERE reference_id = ?", (reference_id,)
        ).fetchone()
        if exists is None:
            conn.execute(
                "INSERT INTO snapshot (reference_id, hash, tail) VALUES (?, ?, ?)",
                (reference_id, UNKNOWN_HASH, tail),
            )
    elif operation == "PAGO" and period is not None:
        conn.execute(
            "DELETE FROM payments WHERE reference_id = ? AND period = ?", (reference_id, period)
        )
