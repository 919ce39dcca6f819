"""The durable outbox: every sealed change set is stored before it is published, until its receipt.

States: ``PENDIENTE`` (written, not yet acknowledged by the broker), ``PUBLICADO`` (the broker
acknowledged it; the hub has not answered yet), and after the hub's receipt ``ACEPTADO``,
``PARCIAL`` or ``RECHAZADO``. The value bytes and headers are kept exactly as signed until the
receipt arrives (so a resend is the very same message, which the hub deduplicates), and cleared
afterwards. A broker that loses its log loses nothing: ``unreceipted`` still lists it.

When the agreement's key rotates, what is still unreceipted was signed with the old key and the
hub stops accepting it once that key's window ends or it is revoked. :meth:`Outbox.resign` signs
those same bytes with the new key (same value, same message id: the hub treats the re-signed
message as the same message, so one that did get in before is not applied twice) and puts them
back as ``PENDIENTE`` to be published again.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.agreements.keys import key_id, public_key_of
from hub.envelope import KEY_ID_HEADER, Envelope, reseal

__all__ = [
    "ACEPTADO",
    "FINAL_STATES",
    "PARCIAL",
    "PENDIENTE",
    "PUBLICADO",
    "RECHAZADO",
    "Outbox",
    "OutboxMessage",
    "OutboxStatus",
    "now_text",
]

PENDIENTE: Final = "PENDIENTE"
PUBLICADO: Final = "PUBLICADO"
ACEPTADO: Final = "ACEPTADO"
PARCIAL: Final = "PARCIAL"
RECHAZADO: Final = "RECHAZADO"
FINAL_STATES: Final = frozenset({ACEPTADO, PARCIAL, RECHAZADO})
_OPEN: Final = (PENDIENTE, PUBLICADO)


def now_text() -> str:
    """The current UTC time as ISO text (what the outbox stores)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _pack_headers(headers: Iterable[tuple[str, bytes]]) -> bytes:
    return json.dumps(
        [[name, base64.b64encode(value).decode("ascii")] for name, value in headers]
    ).encode("ascii")


def _unpack_headers(data: bytes) -> list[tuple[str, bytes]]:
    return [(name, base64.b64decode(value)) for name, value in json.loads(data)]


@dataclass(frozen=True)
class OutboxMessage:
    """A stored change set, ready to (re)publish exactly as it was signed."""

    message_id: str
    transaction_id: str
    value: bytes
    headers: list[tuple[str, bytes]]


@dataclass(frozen=True)
class OutboxStatus:
    """Counts of messages and items by state, and item rejections by reason code."""

    messages: dict[str, int]
    items: dict[str, int]
    rejected_items: dict[str, int]
    reasons: dict[str, str]

    @property
    def unreceipted(self) -> int:
        """Messages still waiting for the hub's receipt."""
        return sum(self.messages.get(state, 0) for state in _OPEN)


class Outbox:
    """The outbox tables of one agreement's state database."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def add(
        self,
        envelope: Envelope,
        *,
        transaction_id: str,
        chunk_index: int,
        item_count: int,
        period: str | None = None,
    ) -> None:
        """Store a sealed change set as ``PENDIENTE`` (inside the caller's transaction)."""
        self.conn.execute(
            "INSERT INTO outbox (message_id, transaction_id, chunk_index, state, item_count, "
            "period, value, headers, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                envelope.message_id,
                transaction_id,
                chunk_index,
                PENDIENTE,
                item_count,
                period,
                envelope.value,
                _pack_headers(envelope.headers),
                now_text(),
            ),
        )

    def unreceipted(self, transaction_id: str | None = None) -> Iterator[OutboxMessage]:
        """Messages without a receipt (``PENDIENTE`` or ``PUBLICADO``), oldest first, streamed.

        The ids are listed first and each value read on demand, so marking messages as
        published while iterating never disturbs the iteration.
        """
        query = "SELECT message_id FROM outbox WHERE state IN (?, ?) AND value IS NOT NULL"
        params: tuple[str, ...] = _OPEN
        if transaction_id is not None:
            query += " AND transaction_id = ?"
            params = (*_OPEN, transaction_id)
        ids = [row[0] for row in self.conn.execute(query + " ORDER BY rowid", params)]
        for message_id in ids:
            row = self.conn.execute(
                "SELECT transaction_id, value, headers FROM outbox "
                "WHERE message_id = ? AND value IS NOT NULL",
                (message_id,),
            ).fetchone()
            if row is not None:
                yield OutboxMessage(message_id, row[0], bytes(row[1]), _unpack_headers(row[2]))

    def unreceipted_ids(self, transaction_id: str | None = None) -> set[str]:
        """Ids of the messages still waiting for a receipt."""
        query = "SELECT message_id FROM outbox WHERE state IN (?, ?)"
        params: tuple[str, ...] = _OPEN
        if transaction_id is not None:
            query += " AND transaction_id = ?"
            params = (*_OPEN, transaction_id)
        return {row[0] for row in self.conn.execute(query, params)}

    def message_ids(self, transaction_id: str) -> list[str]:
        """Every message of a delivery, in chunk order."""
        rows = self.conn.execute(
            "SELECT message_id FROM outbox WHERE transaction_id = ? ORDER BY chunk_index",
            (transaction_id,),
        )
        return [row[0] for row in rows]

    def mark_published(self, message_ids: Iterable[str]) -> None:
        """The broker acknowledged these (a message that already has a receipt stays as is)."""
        stamp = now_text()
        rows = [(PUBLICADO, stamp, message_id, PENDIENTE) for message_id in message_ids]
        update = "UPDATE outbox SET state = ?, published_at = ? WHERE message_id = ? AND state = ?"
        if self.conn.in_transaction:
            self.conn.executemany(update, rows)
            return
        # One transaction for the batch: in autocommit mode every row would be its own commit,
        # each writing whole (64 KiB) pages to the WAL; 4,000 acks cost 1.5 s that way.
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self.conn.executemany(update, rows)
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def signed_with(self) -> dict[str, int]:
        """Unreceipted messages by the key id they are signed with (``sisi-key-id``)."""
        counts: dict[str, int] = {}
        for (data,) in self.conn.execute(
            "SELECT headers FROM outbox WHERE state IN (?, ?) AND value IS NOT NULL", _OPEN
        ):
            names = dict(_unpack_headers(data))
            fingerprint = names.get(KEY_ID_HEADER, b"?").decode("ascii", "replace")
            counts[fingerprint] = counts.get(fingerprint, 0) + 1
        return counts

    def resign(self, private_key: Ed25519PrivateKey) -> int:
        """Sign every unreceipted message not yet signed with ``private_key`` again with it.

        The value bytes (and so the message id) stay as they are; the signature and key-id
        headers change and the message goes back to ``PENDIENTE`` until the broker acknowledges
        it again. One transaction: a crash re-signs all or nothing. Returns how many changed.
        """
        fingerprint = key_id(public_key_of(private_key)).encode()
        changed = 0
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            rows = self.conn.execute(
                "SELECT message_id, value, headers FROM outbox "
                "WHERE state IN (?, ?) AND value IS NOT NULL",
                _OPEN,
            ).fetchall()
            for message_id, value, packed in rows:
                headers = _unpack_headers(packed)
                if dict(headers).get(KEY_ID_HEADER) == fingerprint:
                    continue
                resealed = reseal(private_key, headers, bytes(value))
                self.conn.execute(
                    "UPDATE outbox SET headers = ?, state = ?, published_at = NULL "
                    "WHERE message_id = ? AND state IN (?, ?)",
                    (_pack_headers(resealed), PENDIENTE, message_id, *_OPEN),
                )
                changed += 1
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")
        return changed

    def state_of(self, message_id: str) -> str | None:
        """The message's state, ``None`` when the outbox never had it."""
        row = self.conn.execute(
            "SELECT state FROM outbox WHERE message_id = ?", (message_id,)
        ).fetchone()
        return None if row is None else str(row[0])

    def status(self, transaction_id: str | None = None) -> OutboxStatus:
        """Counts by state (messages and items) and rejected items by reason code."""
        where, params = (
            ("WHERE transaction_id = ?", (transaction_id,))
            if transaction_id
            else (
                "",
                (),
            )
        )
        messages: dict[str, int] = {}
        items: dict[str, int] = {}
        for state, count, item_count, accepted, rejected in self.conn.execute(
            "SELECT state, count(*), sum(item_count), sum(coalesce(accepted, 0)), "
            f"sum(coalesce(rejected, 0)) FROM outbox {where} GROUP BY state",
            params,
        ):
            messages[state] = count
            if state in FINAL_STATES:
                items["ACEPTADO"] = items.get("ACEPTADO", 0) + accepted
                items["RECHAZADO"] = items.get("RECHAZADO", 0) + rejected
            else:
                items[state] = items.get(state, 0) + item_count
        items = {state: count for state, count in items.items() if count}
        rejected_items: dict[str, int] = {}
        reasons: dict[str, str] = {}
        join = "JOIN outbox o ON o.message_id = r.message_id " + where.replace(
            "transaction_id", "o.transaction_id"
        )
        for code, count, message in self.conn.execute(
            f"SELECT r.code, count(*), min(r.message) FROM rejections r {join} GROUP BY r.code",
            params,
        ):
            rejected_items[code] = count
            reasons[code] = message
        return OutboxStatus(messages, items, rejected_items, reasons)
