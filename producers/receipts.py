"""The hub's receipts: decode them, store per-item outcomes, clear the outbox, explain in Spanish.

``ReceiptListener`` reads the agreement's receipt topic by explicit partition assignment (no
consumer-group rebalances to wait for) from offsets kept in the state database; applying a
receipt twice changes nothing, so re-reading after a crash or a broker restart is harmless.
Items the hub rejected are forgotten by the snapshot, so the next delivery sends them again.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from hub.contracts.wire import WireFormatError, decode
from hub.kafka_log import kafka_logger
from hub.settings import Settings
from hub.topics import agreement_receipts
from hub.validation.issues import REASON_CODES
from producers import snapshot
from producers.changeset import ChangeSetCodec
from producers.contract import SchemaSource
from producers.outbox import ACEPTADO, FINAL_STATES, PARCIAL, RECHAZADO

__all__ = [
    "SET_REASONS",
    "Receipt",
    "ReceiptListener",
    "RejectedItem",
    "apply_receipt",
    "reason_text",
    "stored_receipt",
]

_log = logging.getLogger(__name__)

#: Spanish text for set-level codes the hub may send without a message of their own.
SET_REASONS: Final[Mapping[str, str]] = {
    "FIRMA_INVALIDA": "la firma del conjunto no corresponde a la clave del convenio",
    "CONVENIO_NO_VIGENTE": "el convenio no está vigente",
    "CONVENIO_DESCONOCIDO": "el convenio no existe en el hub",
    "ESQUEMA_NO_PERMITIDO": "la versión del contrato no está permitida por el convenio",
    "ESQUEMA_NO_CONVENIDO": (
        "el esquema no es el que el convenio permite con esa versión del contrato"
    ),
    "FORMATO_INVALIDO": "el mensaje no es un conjunto de cambios legible",
}
_STATE: Final = {"ACCEPTED": ACEPTADO, "PARTIAL": PARCIAL, "REJECTED": RECHAZADO}


def reason_text(code: str, message: str | None = None) -> str:
    """The Spanish explanation of a rejection code (the receipt's own message first)."""
    if message:
        return message
    return REASON_CODES.get(code) or SET_REASONS.get(code) or f"rechazado por el hub ({code})"


@dataclass(frozen=True)
class RejectedItem:
    """One item the hub rejected, with the reason."""

    reference_id: str
    reason_code: str
    field: str | None
    message: str


@dataclass(frozen=True)
class Receipt:
    """The hub's answer to one change set."""

    receipt_id: str
    agreement_id: str
    message_id: str
    transaction_id: str
    issued_at: datetime
    status: str
    accepted_count: int
    rejected_count: int
    reason_code: str | None
    rejected: tuple[RejectedItem, ...]

    @property
    def state(self) -> str:
        """The outbox state this receipt leads to (ACEPTADO, PARCIAL, RECHAZADO)."""
        return _STATE[self.status]

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Receipt:
        """From a decoded ``mx.gob.sisi.hub.Receipt`` record."""
        issued = record["issued_at"]
        if not isinstance(issued, datetime):
            issued = datetime.fromtimestamp(int(issued) / 1000, UTC)
        return cls(
            receipt_id=record["receipt_id"],
            agreement_id=record["agreement_id"],
            message_id=record["message_id"],
            transaction_id=record["transaction_id"],
            issued_at=issued,
            status=record["status"],
            accepted_count=int(record["accepted_count"]),
            rejected_count=int(record["rejected_count"]),
            reason_code=record.get("reason_code"),
            rejected=tuple(
                RejectedItem(r["reference_id"], r["reason_code"], r.get("field"), r["message"])
                for r in record.get("rejected", ())
            ),
        )


def _items(value: bytes, source: SchemaSource) -> tuple[ChangeSetCodec, list[dict[str, Any]]]:
    from hub.contracts.wire import split

    schema_id, _ = split(value)
    record = decode(value, source.writer_schema)
    return ChangeSetCodec(schema_id, source.definition(schema_id)), list(record["items"])


def apply_receipt(conn: sqlite3.Connection, receipt: Receipt, source: SchemaSource) -> bool:
    """Store a receipt's outcome; ``False`` when the message is unknown or already receipted."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        row = conn.execute(
            "SELECT state, value, period, item_count FROM outbox WHERE message_id = ?",
            (receipt.message_id,),
        ).fetchone()
        if row is None or row[0] in FINAL_STATES:
            conn.execute("COMMIT")
            return False
        _state, value, period, item_count = row
        rejected = {item.reference_id for item in receipt.rejected}
        whole = receipt.status == "REJECTED" and not receipt.rejected
        rows = [
            (
                receipt.message_id,
                item.reference_id,
                item.reason_code,
                item.field,
                reason_text(item.reason_code, item.message),
            )
            for item in receipt.rejected
        ]
        if value is not None and (rejected or whole):
            codec, items = _items(bytes(value), source)
            for item in items:
                reference = item["reference_id"]
                if whole or reference in rejected:
                    tail = codec.encode_tail_records(
                        item["person"], item["benefit"], item["geography"]
                    )
                    snapshot.forget(conn, item["operation"], reference, tail, period)
                    if whole:
                        code = receipt.reason_code or "RECHAZADO"
                        rows.append((receipt.message_id, reference, code, None, reason_text(code)))
        conn.executemany("INSERT OR IGNORE INTO rejections VALUES (?,?,?,?,?)", rows)
        rejected_count = receipt.rejected_count or (item_count if whole else 0)
        conn.execute(
            "UPDATE outbox SET state = ?, receipt_id = ?, receipt_at = ?, accepted = ?, "
            "rejected = ?, reason_code = ?, reason = ?, value = NULL, headers = NULL "
            "WHERE message_id = ?",
            (
                receipt.state,
                receipt.receipt_id,
                receipt.issued_at.isoformat(timespec="milliseconds"),
                receipt.accepted_count,
                rejected_count,
                receipt.reason_code,
                reason_text(receipt.reason_code) if receipt.reason_code else None,
                receipt.message_id,
            ),
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return True


def stored_receipt(
    conn: sqlite3.Connection, message_id: str, agreement_id: str = ""
) -> Receipt | None:
    """The receipt already applied for ``message_id``, rebuilt from the state database."""
    row = conn.execute(
        "SELECT state, receipt_id, receipt_at, accepted, rejected, reason_code, transaction_id "
        "FROM outbox WHERE message_id = ?",
        (message_id,),
    ).fetchone()
    if row is None or row[0] not in FINAL_STATES:
        return None
    state, receipt_id, at, accepted, rejected_count, code, transaction = row
    status = {v: k for k, v in _STATE.items()}[state]
    items = tuple(
        RejectedItem(ref, rcode, field, message)
        for ref, rcode, field, message in conn.execute(
            "SELECT reference_id, code, field, message FROM rejections WHERE message_id = ?",
            (message_id,),
        )
    )
    return Receipt(
        receipt_id or "",
        agreement_id,
        message_id,
        transaction,
        datetime.fromisoformat(at) if at else datetime.now(UTC),
        status,
        accepted or 0,
        rejected_count or 0,
        code,
        items if not (code and status == "REJECTED") else (),
    )


class ReceiptListener:
    """Reads one agreement's receipt topic and applies every receipt to the state database."""

    def __init__(
        self,
        agreement_id: str,
        settings: Settings,
        conn: sqlite3.Connection,
        source: SchemaSource | None = None,
    ) -> None:
        from confluent_kafka import Consumer

        self.agreement_id = agreement_id
        self.topic = agreement_receipts(agreement_id)
        self.conn = conn
        self.source = source or SchemaSource.for_settings(settings)
        self._consumer = Consumer(
            {
                "bootstrap.servers": settings.bootstrap_servers,
                "group.id": f"sisi-producer-{agreement_id}",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "enable.partition.eof": False,
                "allow.auto.create.topics": False,
                "logger": kafka_logger("producers.librdkafka"),
            }
        )
        self._assigned = False
        self._rewound = False
        #: whether the last poll found nothing (the listener is at the end of the topic)
        self.idle = False

    def _assign(self, timeout: float) -> bool:
        from confluent_kafka import OFFSET_BEGINNING, TopicPartition

        try:
            metadata = self._consumer.list_topics(timeout=max(timeout, 1.0))
        except Exception as exc:  # KafkaException: broker unreachable
            _log.debug("receipt topic metadata unavailable: %s", exc)
            return False
        topic = metadata.topics.get(self.topic)
        if topic is None or topic.error is not None or not topic.partitions:
            return False
        stored = dict(
            self.conn.execute(
                "SELECT partition, next_offset FROM receipt_offsets WHERE topic = ?", (self.topic,)
            ).fetchall()
        )
        self._consumer.assign(
            [
                TopicPartition(self.topic, p, stored.get(p, OFFSET_BEGINNING))
                for p in sorted(topic.partitions)
            ]
        )
        self._assigned = True
        return True

    def rewind(self) -> None:
        """Read the topic again from the beginning (applying a receipt twice changes nothing).

        Stored offsets belong to the broker that gave them: one restarted empty numbers its
        messages from 0 again, so a stored offset can skip receipts that are really new.
        """
        from confluent_kafka import OFFSET_BEGINNING, TopicPartition

        if not self._assigned:
            return
        partitions = [tp.partition for tp in self._consumer.assignment()]
        self._consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in partitions])
        self._rewound = True

    def poll(self, timeout: float = 1.0) -> list[Receipt]:
        """Read what the topic has (waiting up to ``timeout``); the receipts newly applied."""
        if not self._assigned and not self._assign(timeout):
            time.sleep(min(timeout, 0.5))
            return []
        applied: list[Receipt] = []
        offsets: dict[int, int] = {}
        batch = self._consumer.consume(num_messages=500, timeout=timeout)
        self.idle = not batch
        for message in batch:
            if message.error() is not None:
                continue
            partition, offset = message.partition(), message.offset()
            if partition is not None and offset is not None:
                offsets[partition] = offset + 1
            receipt = self._decode(message.value())
            if receipt is None or receipt.agreement_id != self.agreement_id:
                continue
            if apply_receipt(self.conn, receipt, self.source):
                applied.append(receipt)
        if offsets:
            self.conn.executemany(
                "INSERT OR REPLACE INTO receipt_offsets VALUES (?, ?, ?)",
                [(self.topic, p, o) for p, o in offsets.items()],
            )
        return applied

    def _decode(self, value: bytes | None) -> Receipt | None:
        if value is None:
            return None
        try:
            return Receipt.from_record(decode(value, self.source.writer_schema))
        except (WireFormatError, KeyError, ValueError, TypeError) as exc:
            _log.warning("acuse ilegible en %s: %s", self.topic, exc)
            return None

    def wait_for(
        self,
        message_ids: Iterable[str],
        timeout: float,
        on_receipt: Callable[[Receipt], None] | None = None,
    ) -> set[str]:
        """Apply receipts until every message has one or ``timeout`` passes; those still open."""
        remaining = set(message_ids)
        deadline = time.monotonic() + timeout
        remaining = self._still_open(remaining)
        while remaining and time.monotonic() < deadline:
            for receipt in self.poll(min(1.0, max(0.05, deadline - time.monotonic()))):
                remaining.discard(receipt.message_id)
                if on_receipt is not None:
                    on_receipt(receipt)
            remaining = self._still_open(remaining)
            if remaining and self.idle and not self._rewound:
                self.rewind()
        return remaining

    def _still_open(self, ids: set[str]) -> set[str]:
        if not ids:
            return ids
        still: set[str] = set()
        for message_id in ids:
            row = self.conn.execute(
                "SELECT state FROM outbox WHERE message_id = ?", (message_id,)
            ).fetchone()
            if row is None or row[0] not in FINAL_STATES:
                still.add(message_id)
        return still

    def close(self) -> None:
        """Leave the broker."""
        self._consumer.close()
