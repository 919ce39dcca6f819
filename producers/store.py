"""The agency's local state: one SQLite file per agreement holding snapshot, outbox and receipts.

``<data_dir>/producer/<agreement>.sqlite3`` keeps the last delivered snapshot, the durable outbox
of sealed change sets, the per-item outcomes from the hub's receipts and the receipt topic
offsets, so that one transaction can replace the snapshot and write the outbox together: either
a delivery is fully recorded or not at all. WAL mode lets the SDK and the CLI share the file.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hub.errors import ConfigurationError
from hub.private import private_database, private_dir
from hub.settings import Settings

__all__ = ["SCHEMA", "checkpoint_in_background", "delivery_lock", "open_state", "state_path"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS snapshot (
    reference_id TEXT NOT NULL, line INTEGER, hash INTEGER NOT NULL, tail BLOB NOT NULL,
    eff INTEGER, paid INTEGER, has_amount INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS ref_init ON snapshot (reference_id);
CREATE TABLE IF NOT EXISTS payments (
    reference_id TEXT NOT NULL, period TEXT NOT NULL, message_id TEXT,
    PRIMARY KEY (reference_id, period)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox (
    message_id TEXT PRIMARY KEY,
    transaction_id TEXT NOT NULL,
    chunk_index INTEGER NOT NULL,
    state TEXT NOT NULL,
    item_count INTEGER NOT NULL,
    period TEXT,
    value BLOB,
    headers BLOB,
    created_at TEXT NOT NULL,
    published_at TEXT,
    receipt_id TEXT,
    receipt_at TEXT,
    accepted INTEGER,
    rejected INTEGER,
    reason_code TEXT,
    reason TEXT
);
CREATE INDEX IF NOT EXISTS outbox_state ON outbox (state);
CREATE INDEX IF NOT EXISTS outbox_transaction ON outbox (transaction_id);
CREATE TABLE IF NOT EXISTS rejections (
    message_id TEXT NOT NULL, reference_id TEXT NOT NULL, code TEXT NOT NULL,
    field TEXT, message TEXT NOT NULL,
    PRIMARY KEY (message_id, reference_id, code)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS idempotency_keys (
    key TEXT PRIMARY KEY, message_id TEXT NOT NULL, fingerprint TEXT NOT NULL,
    created_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS receipt_offsets (
    topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
    PRIMARY KEY (topic, partition)
) WITHOUT ROWID;
"""


def state_path(settings: Settings, agreement_id: str) -> Path:
    """Where the agreement's producer state lives."""
    return settings.data_dir / "producer" / f"{agreement_id}.sqlite3"


def open_state(settings: Settings, agreement_id: str) -> sqlite3.Connection:
    """The agreement's state database, created and migrated on first use (autocommit mode)."""
    path = state_path(settings, agreement_id)
    try:
        private_database(path)  # the agency's padrón: readable by its owner only
        conn = sqlite3.connect(path, timeout=60.0, isolation_level=None, check_same_thread=False)
    except (OSError, sqlite3.Error) as exc:
        raise ConfigurationError(
            f"no se pudo abrir el estado local del productor: {exc}",
            path=path,
            hint="revise SISI_DATA_DIR y los permisos de ese directorio.",
        ) from exc
    # Big pages for a new file (an existing one keeps its own): a delivery writes its whole
    # staging table and hundreds of MB of outbox blobs in one transaction, and 64 KiB pages make
    # those writes and the checkpoint after them about twice as fast as the 4 KiB default.
    conn.execute("PRAGMA page_size=65536")
    conn.execute("PRAGMA journal_mode=WAL")
    # FULL: a committed outbox survives a power loss (with NORMAL the last commits may roll back
    # after change sets built from them were published); a delivery commits a handful of times.
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA cache_size=-32768")
    conn.execute("PRAGMA temp_store=FILE")
    conn.executescript(SCHEMA)
    return conn


@contextmanager
def delivery_lock(settings: Settings, agreement_id: str) -> Iterator[None]:
    """One file delivery per agreement at a time (a second one waits for the first)."""
    path = state_path(settings, agreement_id).with_suffix(".lock")
    private_dir(path.parent)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def checkpoint_in_background(settings: Settings, agreement_id: str) -> threading.Thread:
    """Copy the WAL into the database file from a helper thread with its own connection.

    A delivery writes hundreds of MB in two transactions; with automatic checkpoints each COMMIT
    would copy them before returning (about 1.5 s for 1M rows), in the delivery's critical path.
    ``produce_file`` turns them off for its connection and checkpoints here while it writes the
    delivery and while it publishes; join the thread before closing the last connection (which
    checkpoints whatever is left).
    """

    def run() -> None:
        try:
            conn = sqlite3.connect(state_path(settings, agreement_id), timeout=60.0)
            try:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            finally:
                conn.close()
        except sqlite3.Error:
            pass  # nothing is lost: the WAL stays until a later checkpoint

    thread = threading.Thread(target=run, name="sisi-checkpoint", daemon=True)
    thread.start()
    return thread
