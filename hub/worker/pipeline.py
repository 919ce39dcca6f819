"""The hub's processing of a batch of Kafka messages, in a crash-safe order (no Kafka here).

For each message of the batch: look it up in the ledger, by position and by claimed identity in
one query (a redelivery re-emits what was stored and changes nothing) → inspect it and decide its
outputs (receipt, audit events, quarantine entries, counts) — pure work, done before the write
lock so that other workers write meanwhile. Then, in ONE transaction for the whole batch: a
message whose identity was processed before (in the ledger, or earlier in this batch) becomes a
replay, quarantined with ``MENSAJE_REPETIDO``; the others' accepted items go to the registry
(idempotent); the audit entries are appended (one signature per batch); the quarantine entries,
the ledger rows (these mark the messages done) and the compliance counts are written. After the
commit: publish the receipts and the quarantine records, and wait once for the broker's acks.
The consumer commits the offsets only after :meth:`HubPipeline.process_batch` returns, so a crash
at any point leads to a redelivery that ends in the same state.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from sqlalchemy import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from hub.audit.chain import AuditEvent
from hub.audit.store import AuditLog
from hub.compliance.counting import Tally, as_initial_load, tally
from hub.compliance.store import add_tally, first_transaction, lock_first_delivery
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
from hub.registry.writer import (
    DeferredDeliveries,
    PreparedItems,
    RegistryWriter,
    is_contention,
)
from hub.registry.writer import RejectedItem as RegistryRejection  # the gatekeeper's has codes
from hub.topics import QUARANTINE
from hub.worker.audit_events import audit_events, relink_events
from hub.worker.changes import record_agreement_changes
from hub.worker.publisher import Publisher

__all__ = ["BATCH_MESSAGES", "HubPipeline", "KafkaMessage", "Outcome"]

_log = logging.getLogger(__name__)
_ATTEMPTS = 3
#: Most messages the worker hands to :meth:`HubPipeline.process_batch` at once.
BATCH_MESSAGES = 32


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


@dataclass
class _Plan:
    """One message of a batch: what the ledger knew of it, then what its processing decided."""

    message: KafkaMessage
    headers: dict[str, bytes]
    header_agreement_id: str | None
    header_message_id: str
    done: ledger.LedgerRow | None  # processed before at this position: a redelivery
    claim: ledger.LedgerRow | None  # its (agreement, message id) was processed elsewhere
    inspected: Verdict | None = None  # the gatekeeper's verdict
    prepared: PreparedItems | None = None  # its accepted items, ready for the registry
    verdict: Verdict | None = None  # with the registry's rejections; a refusal for a replay
    events: list[AuditEvent] = field(default_factory=list)
    entries: list[QuarantineEntry] = field(default_factory=list)
    row: ledger.LedgerRow | None = None
    counts: Tally | None = None
    agreement_id: str | None = None
    receipt_key: str = ""


def _refusals(rejected: Sequence[RegistryRejection]) -> list[RejectedItem]:
    """The registry's rejections as the gatekeeper's rejected items (``REGISTRO_RECHAZADO``)."""
    return [
        RejectedItem(
            r.reference_id, REGISTRO_RECHAZADO, describe(REGISTRO_RECHAZADO, r.reason), r.field
        )
        for r in rejected
    ]


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
        # each agreement's first delivery (its initial load), once committed: it never changes
        self._first_transactions: dict[str, str] = {}

    def process(self, message: KafkaMessage) -> Outcome:
        """Process one message; returns once its effects are stored and its outputs published."""
        return self.process_batch([message])[0]

    def process_batch(self, messages: Sequence[KafkaMessage]) -> list[Outcome]:
        """Process ``messages`` in order, their effects in ONE transaction; one outcome each.

        The same as processing them one by one (a message repeating an earlier one of the batch is
        a replay of it), but the commit, the audit batch signature and the wait for the broker's
        acknowledgement of receipts are paid once per batch instead of once per message.
        """
        if not messages:
            return []
        if self.gatekeeper.refresh():
            # the new agreements go into the audit log before any message is judged by them;
            # a failure here stops the batch (redelivered), and a restart records them
            record_agreement_changes(self.engine, self.audit, self.gatekeeper.agreements)
        for attempt in range(_ATTEMPTS):
            try:
                return self._process_batch(messages)
            except Exception as exc:
                # another worker stored one of these messages (or claimed its id) first: the
                # transaction was undone; look again (those messages are now redeliveries)
                if not (isinstance(exc, IntegrityError) or is_contention(exc)):
                    raise
                if attempt == _ATTEMPTS - 1:
                    raise
                _log.info("lote de %s mensajes: reintento tras conflicto", len(messages))
        raise AssertionError("unreachable")

    def _process_batch(self, messages: Sequence[KafkaMessage]) -> list[Outcome]:
        plans: list[_Plan] = []
        with self.engine.connect() as conn:  # one round trip each: position and claim
            for message in messages:
                headers = headers_dict(message.headers)
                agreement_id, message_id = message_identity(message.value, headers)
                done, claim = ledger.find_known(
                    conn,
                    message.topic,
                    message.partition,
                    message.offset,
                    message_id,
                    agreement_id,
                )
                plans.append(_Plan(message, headers, agreement_id, message_id, done, claim))
        now = self.clock()
        for plan in plans:  # pure work, before the write lock: other workers write meanwhile
            if plan.done is None:
                self._decide(plan, now)
        claimed: dict[tuple[str, str], _Plan] = {}  # claims made earlier in this batch
        firsts: dict[str, str] = {}  # first deliveries found or made in this batch
        with self.engine.begin() as conn:
            begin_write(conn)  # SQLite: the write lock before the first read of the writers
            # PostgreSQL: every stored row the batch may change, locked in one global order
            self.writer.lock_stored(
                conn, [p.prepared for p in plans if p.done is None and p.prepared is not None]
            )
            deliveries: DeferredDeliveries = []
            for plan in plans:
                if plan.done is None:
                    self._plan(conn, plan, claimed, now, deliveries, firsts)
            # the locks others wait for (delivery rows, then the audit head): late, in one order
            self.writer.record_deliveries(conn, deliveries)
            events = [event for plan in plans for event in plan.events]
            if events:
                self.audit.append_in(conn, events)
            for plan in plans:
                if plan.row is not None:
                    self._store(conn, plan, now)
        self._first_transactions.update(firsts)  # committed
        outcomes = []
        for plan in plans:
            if plan.done is not None:
                self._republish(plan.message, plan.done, plan.header_message_id, flush=False)
                done = plan.done
                outcomes.append(
                    Outcome("redelivery", done.outcome, done.reason_code, receipt=done.receipt)
                )
                continue
            assert plan.row is not None and plan.verdict is not None
            self._publish_quarantine(plan.message, plan.agreement_id, plan.entries, now)
            row = plan.row
            if row.receipt is not None and row.receipt_topic is not None:
                self._publish_receipt(row.receipt_topic, plan.receipt_key, row.receipt)
            code = row.reason_code
            kind: Literal["processed", "replay"] = (
                "replay" if row.outcome == "REPLAY" else "processed"
            )
            outcomes.append(Outcome(kind, row.outcome, code, plan.verdict, row.receipt))
        self.publisher.flush()
        return outcomes

    def _decide(self, plan: _Plan, now: dt.datetime) -> None:
        """Inspect the message of ``plan`` and decide its outputs, assuming it is no replay.

        Pure work (no database), done before the write lock: the ledger row, the receipt, the
        audit events, the quarantine entries and the counts. Inside the lock, :meth:`_plan`
        replaces them when the message turns out to be a replay.
        """
        message = plan.message
        verdict = self.gatekeeper.inspect(message.topic, message.value, plan.headers)
        plan.inspected = verdict
        if verdict.refusal is None and verdict.accepted and verdict.header is not None:
            plan.prepared = prepared = self.writer.prepare(
                verdict.header, verdict.accepted, rows=True
            )
            if prepared.rejected:
                verdict = verdict.with_registry_rejections(_refusals(prepared.rejected))
        self._outputs(plan, verdict, now)

    def _outputs(self, plan: _Plan, verdict: Verdict, now: dt.datetime) -> None:
        """The outputs of ``plan`` (events, receipt, quarantine, ledger row, counts) for
        ``verdict``."""
        message = plan.message
        agreement = verdict.agreement
        plan.verdict = verdict
        plan.events = audit_events(
            verdict, message.topic, message.partition, message.offset, self.audit.reference_mask
        )
        receipt = self._receipt(verdict, now)
        plan.entries = entries_for(verdict)
        claims = verdict.authenticated  # refused ones too: see hub.gatekeeper.ledger
        plan.agreement_id = agreement.id if agreement else verdict.agreement_id
        plan.receipt_key = verdict.message_id
        plan.row = ledger.LedgerRow(
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            agreement_id=agreement.id if claims and agreement else None,
            message_id=verdict.message_id if claims else None,
            header_agreement_id=verdict.agreement_id,
            header_message_id=plan.header_message_id,
            outcome=receipt_status(verdict),
            reason_code=verdict.refusal.code if verdict.refusal else None,
            receipt_topic=agreement.receipts_topic if receipt is not None and agreement else None,
            receipt=receipt,
        )
        sla = agreement.delivery.max_lag_hours * 3600.0 if agreement else None
        plan.counts = tally(verdict, now=now, sla_seconds=sla)

    def _plan(
        self,
        conn: Connection,
        plan: _Plan,
        claimed: dict[tuple[str, str], _Plan],
        now: dt.datetime,
        deliveries: DeferredDeliveries,
        firsts: dict[str, str],
    ) -> None:
        """Inside the write lock: a replay, or apply the decided message's items on ``conn``."""
        verdict = plan.inspected
        assert verdict is not None
        agreement = verdict.agreement
        claim: ledger.LedgerRow | _Plan | None = plan.claim
        if agreement is None or not verdict.authenticated:
            claim = None  # only an authenticated message claims its identity
        else:
            key = (agreement.id, verdict.message_id)
            if key != (plan.header_agreement_id, plan.header_message_id):
                claim = ledger.find_claim(conn, *key)  # not the identity looked up before
            if claim is None:
                claim = claimed.get(key)
            if claim is None:
                claimed[key] = plan
        if claim is not None:
            self._plan_replay(plan, verdict, claim, now)
            return
        header = verdict.header
        if plan.prepared is not None and header is not None:
            result = self.writer.apply_in(conn, header, plan.prepared, deliveries=deliveries)
            if result.refused:  # decided on the stored state: the outputs change with them
                assert plan.verdict is not None
                refused = _refusals(result.refused)
                self._outputs(plan, plan.verdict.with_registry_rejections(refused), now)
            if result.relinks and agreement is not None:
                plan.events += relink_events(
                    agreement.id,
                    verdict.message_id,
                    result.relinks,
                    result.people_removed,
                    self.audit.reference_mask,
                )
        # after the registry's refusals: a set whose every item was refused delivers nothing
        counts = plan.counts
        if (
            agreement is not None
            and header is not None
            and counts is not None
            and self._is_initial_load(
                conn, agreement.id, header["transaction_id"], firsts, accepted=counts.accepted
            )
        ):
            plan.counts = as_initial_load(counts)

    def _is_initial_load(
        self,
        conn: Connection,
        agreement_id: str,
        transaction_id: str,
        firsts: dict[str, str],
        *,
        accepted: bool,
    ) -> bool:
        """Whether ``transaction_id`` is the agreement's first delivery: the first transaction
        with an accepted item (``accepted``: this change set has one once the registry applied
        it, its refusals counted). Decided under the write lock, so two workers agree; a set
        with no accepted item (a refusal, e.g. before the agreement was in force, or every item
        refused by the registry) decides nothing, and once decided every chunk of the first
        transaction follows it."""
        first = self._first_transactions.get(agreement_id) or firsts.get(agreement_id)
        if first is None:
            first = first_transaction(conn, agreement_id)
            if first is None:
                if not accepted:
                    return False  # no delivery yet, and this set makes none
                lock_first_delivery(conn, agreement_id)  # PostgreSQL: others wait for our commit
                first = first_transaction(conn, agreement_id) or transaction_id
            firsts[agreement_id] = first
        return first == transaction_id

    def _plan_replay(
        self, plan: _Plan, verdict: Verdict, claim: ledger.LedgerRow | _Plan, now: dt.datetime
    ) -> None:
        """A processed message seen again at another position: quarantine, count, nothing else."""
        if isinstance(claim, _Plan):  # claimed earlier in this batch
            assert claim.row is not None
            claim = claim.row
        message = plan.message
        where = f"{claim.topic}, partición {claim.partition}, posición {claim.offset}"
        text = describe(MENSAJE_REPETIDO, f"se procesó antes en {where}")
        plan.verdict = replace(verdict, refusal=Refusal(MENSAJE_REPETIDO, text))
        plan.entries = [QuarantineEntry(None, MENSAJE_REPETIDO, text)]
        plan.agreement_id = verdict.agreement.id if verdict.agreement else verdict.agreement_id
        plan.receipt_key = verdict.message_id
        plan.row = ledger.LedgerRow(
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            agreement_id=None,
            message_id=None,
            header_agreement_id=verdict.agreement_id,
            header_message_id=plan.header_message_id,
            outcome="REPLAY",
            reason_code=MENSAJE_REPETIDO,
            # the agency's outbox waits for a receipt: repeat the original one
            receipt_topic=claim.receipt_topic,
            receipt=claim.receipt,
        )
        plan.counts = tally(verdict, now=now, sla_seconds=None, replay=True)

    def _store(self, conn: Connection, plan: _Plan, now: dt.datetime) -> None:
        """The message's quarantine entries, ledger row and counts (inside the batch's commit)."""
        row, verdict, message = plan.row, plan.verdict, plan.message
        assert row is not None and verdict is not None and plan.counts is not None
        header = verdict.header
        if plan.entries:
            quarantine.insert(
                conn,
                topic=message.topic,
                partition=message.partition,
                offset=message.offset,
                agreement_id=plan.agreement_id,
                message_id=row.header_message_id,
                value=message.value,
                headers=message.headers,
                received_at=now,
                entries=plan.entries,
            )
        ledger.record(
            conn,
            row,
            transaction_id=header["transaction_id"] if header else None,
            sent_at=header["sent_at"] if header else None,
            processed_at=now,
        )
        add_tally(conn, plan.counts, now)

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

    def _republish(
        self, message: KafkaMessage, done: ledger.LedgerRow, header_id: str, *, flush: bool = True
    ) -> None:
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
        if flush:
            self.publisher.flush()


def _where(message: KafkaMessage) -> tuple[str, int, int]:
    return message.topic, message.partition, message.offset
