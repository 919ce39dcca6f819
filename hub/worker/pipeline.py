"""The hub's processing of one Kafka message, in a crash-safe order (no Kafka here).

For each message: look it up in the ledger, by position and by claimed identity in one query (a
redelivery re-emits what was stored and changes nothing) → inspect it → on a replay of an already
processed message, quarantine it with ``MENSAJE_REPETIDO`` → apply accepted items to the registry
(idempotent) → append the audit entries and write the quarantine entries, the ledger row and the
compliance counts in ONE transaction (this marks the message done) → publish the receipt and the
quarantine records.
The consumer commits the offset only after :meth:`HubPipeline.process` returns, so a crash at any
point leads to a redelivery that ends in the same state.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from hub.audit.chain import AuditEvent
from hub.audit.store import AuditLog
from hub.compliance.counting import Tally, tally
from hub.compliance.store import add_tally
from hub.contracts.wire import encode
from hub.envelope import headers_dict
from hub.gatekeeper import ledger
from hub.gatekeeper.inspector import Gatekeeper, message_identity
from hub.gatekeeper.reasons import MENSAJE_REPETIDO, REGISTRO_RECHAZADO, describe
from hub.gatekeeper.receipts import RECEIPT_SUBJECT, build_receipt, receipt_status
from hub.gatekeeper.schemas import StoreSchemas
from hub.gatekeeper.verdict import Refusal, RejectedItem, Verdict
from hub.quarantine import store as quarantine
from hub.quarantine.records import (
    QUARANTINE_SUBJECT,
    QuarantineEntry,
    dead_letter_headers,
    entries_for,
    group_by_reason,
    quarantine_record,
)
from hub.registry.bulk import begin_write
from hub.registry.writer import RegistryWriter
from hub.topics import QUARANTINE
from hub.worker.audit_events import audit_events
from hub.worker.publisher import Publisher

__all__ = ["HubPipeline", "KafkaMessage", "Outcome"]

_log = logging.getLogger(__name__)
_ATTEMPTS = 3


@dataclass(frozen=True)
class KafkaMessage:
    """A consumed record: where it was read, its exact value and its headers."""

    topic: str
    partition: int
    offset: int
    value: bytes
    headers: tuple[tuple[str, bytes | None], ...] = ()


@dataclass(frozen=True)
class Outcome:
    """What :meth:`HubPipeline.process` did with a message."""

    kind: Literal["processed", "redelivery", "replay"]
    status: str
    reason_code: str | None = None
    verdict: Verdict | None = None
    receipt: bytes | None = None


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class HubPipeline:
    """Gatekeeper → registry → audit → quarantine + ledger + compliance → receipts."""

    def __init__(
        self,
        engine: Engine,
        gatekeeper: Gatekeeper,
        schemas: StoreSchemas,
        audit: AuditLog,
        publisher: Publisher,
        *,
        writer: RegistryWriter | None = None,
        clock: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        self.engine = engine
        self.gatekeeper = gatekeeper
        self.schemas = schemas
        self.audit = audit
        self.publisher = publisher
        self.writer = writer or RegistryWriter(engine)
        self.clock = clock

    def process(self, message: KafkaMessage) -> Outcome:
        """Process one message; returns once its effects are stored and its outputs published."""
        self.gatekeeper.refresh()
        for attempt in range(_ATTEMPTS):
            try:
                return self._process(message)
            except IntegrityError:
                # another worker stored this message (or claimed its id) first: look again
                if attempt == _ATTEMPTS - 1:
                    raise
                _log.info("mensaje %s/%s/%s: reintento tras conflicto", *_where(message))
        raise AssertionError("unreachable")

    def _process(self, message: KafkaMessage) -> Outcome:
        headers = headers_dict(message.headers)
        header_agreement_id, header_message_id = message_identity(message.value, headers)
        with self.engine.connect() as conn:  # one round trip: this position and the claim
            done, claim = ledger.find_known(
                conn,
                message.topic,
                message.partition,
                message.offset,
                header_message_id,
                header_agreement_id,
            )
        if done is not None:
            self._republish(message, done, header_message_id)
            return Outcome("redelivery", done.outcome, done.reason_code, receipt=done.receipt)
        verdict = self.gatekeeper.inspect(message.topic, message.value, headers)
        agreement = verdict.agreement
        if agreement is None or not verdict.authenticated or verdict.refusal is not None:
            claim = None  # only an inspected, authenticated message claims its identity
        elif (agreement.id, verdict.message_id) != (header_agreement_id, header_message_id):
            with self.engine.connect() as conn:  # not the identity looked up above
                claim = ledger.find_claim(conn, agreement.id, verdict.message_id)
        if claim is not None:
            return self._replay(message, verdict, claim, header_message_id)
        if verdict.refusal is None and verdict.accepted and verdict.header is not None:
            result = self.writer.apply(verdict.header, verdict.accepted)
            if result.rejected:
                verdict = verdict.with_registry_rejections(
                    [
                        RejectedItem(
                            r.reference_id,
                            REGISTRO_RECHAZADO,
                            describe(REGISTRO_RECHAZADO, r.reason),
                            r.field,
                        )
                        for r in result.rejected
                    ]
                )
        events = audit_events(verdict, message.topic, message.partition, message.offset)
        now = self.clock()
        receipt = self._receipt(verdict, now)
        entries = entries_for(verdict)
        claims = verdict.authenticated and verdict.refusal is None
        row = ledger.LedgerRow(
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            agreement_id=agreement.id if claims and agreement else None,
            message_id=verdict.message_id if claims else None,
            header_agreement_id=verdict.agreement_id,
            header_message_id=header_message_id,
            outcome=receipt_status(verdict),
            reason_code=verdict.refusal.code if verdict.refusal else None,
            receipt_topic=agreement.receipts_topic if receipt is not None and agreement else None,
            receipt=receipt,
        )
        sla = agreement.delivery.max_lag_hours * 3600.0 if agreement else None
        counts = tally(verdict, now=now, sla_seconds=sla)
        self._commit(message, verdict, row, entries, now, counts, events)
        self._publish_quarantine(message, verdict.agreement_id, entries, now)
        if receipt is not None and row.receipt_topic is not None:
            self._publish_receipt(row.receipt_topic, verdict.message_id, receipt)
        self.publisher.flush()
        code = verdict.refusal.code if verdict.refusal else None
        return Outcome("processed", row.outcome, code, verdict, receipt)

    def _replay(
        self, message: KafkaMessage, verdict: Verdict, claim: ledger.LedgerRow, header_id: str
    ) -> Outcome:
        """A processed message seen again at another position: quarantine, count, nothing else."""
        where = f"{claim.topic}, partición {claim.partition}, posición {claim.offset}"
        text = describe(MENSAJE_REPETIDO, f"se procesó antes en {where}")
        refused = replace(verdict, refusal=Refusal(MENSAJE_REPETIDO, text))
        entries = [QuarantineEntry(None, MENSAJE_REPETIDO, text)]
        now = self.clock()
        row = ledger.LedgerRow(
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            agreement_id=None,
            message_id=None,
            header_agreement_id=verdict.agreement_id,
            header_message_id=header_id,
            outcome="REPLAY",
            reason_code=MENSAJE_REPETIDO,
            receipt_topic=claim.receipt_topic,
            receipt=claim.receipt,
        )
        counts = tally(verdict, now=now, sla_seconds=None, replay=True)
        self._commit(message, refused, row, entries, now, counts)
        self._publish_quarantine(message, verdict.agreement_id, entries, now)
        if claim.receipt is not None and claim.receipt_topic is not None:
            # the agency's outbox waits for a receipt: repeat the original one
            self._publish_receipt(claim.receipt_topic, verdict.message_id, claim.receipt)
        self.publisher.flush()
        return Outcome("replay", "REPLAY", MENSAJE_REPETIDO, refused, claim.receipt)

    def _commit(
        self,
        message: KafkaMessage,
        verdict: Verdict,
        row: ledger.LedgerRow,
        entries: Sequence[QuarantineEntry],
        now: dt.datetime,
        counts: Tally,
        events: Sequence[AuditEvent] = (),
    ) -> None:
        """The message's audit entries, quarantine entries, ledger row and counts: one commit."""
        header = verdict.header
        agreement_id = verdict.agreement.id if verdict.agreement else verdict.agreement_id
        with self.engine.begin() as conn:
            begin_write(conn)  # SQLite: the write lock before the audit log's first read
            if events:
                self.audit.append_in(conn, events)
            if entries:
                quarantine.insert(
                    conn,
                    topic=message.topic,
                    partition=message.partition,
                    offset=message.offset,
                    agreement_id=agreement_id,
                    message_id=row.header_message_id,
                    value=message.value,
                    headers=message.headers,
                    received_at=now,
                    entries=entries,
                )
            ledger.record(
                conn,
                row,
                transaction_id=header["transaction_id"] if header else None,
                sent_at=header["sent_at"] if header else None,
                processed_at=now,
            )
            add_tally(conn, counts, now)

    def _receipt(self, verdict: Verdict, now: dt.datetime) -> bytes | None:
        """The framed Receipt, for authenticated messages only (others may be impostors)."""
        if verdict.agreement is None or not verdict.authenticated:
            return None
        schema = self.schemas.latest(RECEIPT_SUBJECT)
        return encode(schema.id, schema.parsed, build_receipt(verdict, issued_at=now))

    def _publish_receipt(self, topic: str, message_id: str, receipt: bytes) -> None:
        self.publisher.publish(topic, receipt, key=message_id.encode())

    def _publish_quarantine(
        self,
        message: KafkaMessage,
        agreement_id: str | None,
        entries: Sequence[QuarantineEntry],
        received_at: dt.datetime,
    ) -> None:
        if not entries:
            return
        schema = self.schemas.latest(QUARANTINE_SUBJECT)
        topic, partition, offset = message.topic, message.partition, message.offset
        for entry in group_by_reason(entries):
            record = quarantine_record(
                message.value,
                message.headers,
                topic,
                partition,
                offset,
                entry,
                agreement_id,
                received_at,
            )
            self.publisher.publish(
                QUARANTINE,
                encode(schema.id, schema.parsed, record),
                dead_letter_headers(message.headers, topic, partition, offset, entry),
                key=(agreement_id or "").encode(),
            )

    def _republish(self, message: KafkaMessage, done: ledger.LedgerRow, header_id: str) -> None:
        """A redelivery: publish again what the first processing stored, change nothing."""
        with self.engine.connect() as conn:
            stored = quarantine.items_at(
                conn, message.topic, message.partition, message.offset, header_id
            )
        if stored:
            entries = [
                QuarantineEntry(s.reference_id, s.reason_code, s.message, s.field) for s in stored
            ]
            self._publish_quarantine(
                message, done.header_agreement_id, entries, stored[0].received_at
            )
        if done.receipt is not None and done.receipt_topic is not None:
            self._publish_receipt(done.receipt_topic, done.header_message_id, done.receipt)
        self.publisher.flush()


def _where(message: KafkaMessage) -> tuple[str, int, int]:
    return message.topic, message.partition, message.offset
