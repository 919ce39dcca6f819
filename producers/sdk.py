"""The SDK for an agency's live systems: publish single changes with the file producer's guarantees.

::

    from producers import AgencyClient

    with AgencyClient("CONV-BIENESTAR-PAM-2026", private_key) as client:
        message_id = client.publish_change(
            "ALTA", reference_id="S176-0000001",
            person={"curp": "...", "primer_apellido": "...", "nombre": "...", ...},
            benefit={"clave_programa": "S176", "tipo_beneficio": "MONETARIO", "monto": ...},
            geography={"cve_ent": "01", "cve_mun": "001", "cve_loc": "0001"},
        )
        receipt = client.wait_receipt(message_id, timeout=30)

Every change is validated (``hub.validation``), signed with the agreement's key, stored in the
same outbox as file deliveries before it is published, and reflected in the local snapshot, so
a later full-file delivery diffs against what was really sent. ``AsyncAgencyClient`` offers the
same calls as coroutines for asyncio applications (the blocking work runs in a thread).

A system that may call twice for one change (a retry after a timeout or a crash of its own) passes
``idempotency_key``: its own stable name for the change (e.g. ``"pago-S176-0000001-2026-03"``).
The first call publishes; a later call with the same key and the same changes returns the first
call's ``message_id`` and publishes nothing new (the hub would count a second message as a second
payment); the same key with other changes is refused. Keys are kept in the agreement's local state.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from types import TracebackType
from typing import Any, Self

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.agreements import Agreement, load_agreements
from hub.envelope import seal
from hub.errors import SisiError
from hub.settings import Settings, get_settings
from hub.topics import agreement_changes
from hub.validation.geography import GeoCatalog
from hub.validation.issues import ValidationIssue
from hub.validation.record import BAJA_REQUIRED, DEFAULT_REQUIRED, PAGO_REQUIRED, validate_item
from producers import snapshot
from producers.changeset import ChangeSetCodec, ChangeSetHeader, epoch_days
from producers.contract import SchemaSource
from producers.outbox import Outbox, now_text
from producers.pipeline import codec_spec
from producers.publisher import Publisher
from producers.receipts import Receipt, ReceiptListener, stored_receipt
from producers.store import open_state

__all__ = [
    "AgencyClient",
    "AsyncAgencyClient",
    "Change",
    "InvalidChangeError",
    "ReceiptTimeoutError",
]


class InvalidChangeError(SisiError):
    """A change failed validation; ``issues`` says which fields and why (in Spanish)."""

    exit_code = 1

    def __init__(self, reference_id: str, issues: list[ValidationIssue]) -> None:
        self.issues = issues
        detail = "; ".join(f"{i.field}: {i.message}" for i in issues)
        super().__init__(
            f"el cambio {reference_id} no es válido: {detail}",
            field=issues[0].field if issues else None,
            hint="corrija los campos indicados y vuelva a enviarlo.",
        )


class ReceiptTimeoutError(SisiError):
    """The hub did not answer in time; the change stays in the outbox (nothing is lost)."""

    exit_code = 1


@dataclass(frozen=True)
class Change:
    """One change to the padrón, in canonical field names (``hub.fields``)."""

    operation: str
    reference_id: str
    person: Mapping[str, Any] = field(default_factory=dict)
    benefit: Mapping[str, Any] | None = None
    geography: Mapping[str, Any] | None = None
    effective_date: date | None = None

    def values(self) -> dict[str, Any]:
        """The flat canonical values, as validation and the encoder read them."""
        flat: dict[str, Any] = {**self.person, **(self.benefit or {}), **(self.geography or {})}
        flat["reference_id"] = self.reference_id
        flat["operation"] = self.operation
        flat["effective_date"] = self.effective_date
        return flat


def _fingerprint(changes: list[Change], tails: list[bytes]) -> str:
    """What a call asks for, without what differs between calls (message id, time, and the
    effective date a change without one gets: the day of the call)."""
    digest = hashlib.sha256()
    for change, tail in zip(changes, tails, strict=True):
        effective = change.effective_date.isoformat() if change.effective_date else ""
        for part in (change.operation.encode(), change.reference_id.encode(), effective.encode()):
            digest.update(len(part).to_bytes(8, "big") + part)
        digest.update(len(tail).to_bytes(8, "big") + tail)
    return digest.hexdigest()


def _required(operation: str) -> frozenset[str]:
    if operation == "BAJA":
        return BAJA_REQUIRED
    if operation == "PAGO":
        return DEFAULT_REQUIRED | PAGO_REQUIRED
    return DEFAULT_REQUIRED


class AgencyClient:
    """Publishes an agency's live changes under one agreement (thread-safe)."""

    def __init__(
        self,
        agreement_id: str,
        private_key: Ed25519PrivateKey,
        *,
        settings: Settings | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.settings = settings or get_settings()
        self.agreement: Agreement = load_agreements(self.settings.agreements_dir).get(agreement_id)
        self._key = private_key
        source = SchemaSource.for_settings(self.settings)
        contract = source.changeset_contract(self.agreement)
        self._codec: ChangeSetCodec = codec_spec(
            self.agreement, contract.schema_id, contract.definition
        ).build()
        self._catalog: GeoCatalog | None = None
        self._conn = open_state(self.settings, agreement_id)
        self._outbox = Outbox(self._conn)
        self._publisher = Publisher(self.settings, timeout=timeout)
        self._listener: ReceiptListener | None = None
        self._lock = threading.RLock()
        self._topic = agreement_changes(agreement_id)

    def _validate(self, change: Change) -> None:
        if self._catalog is None:
            self._catalog = GeoCatalog.load(self.settings.reference_data)
        issues = [
            issue
            for issue in validate_item(
                change.values(), catalog=self._catalog, required=_required(change.operation)
            )
            if issue.is_error
        ]
        if issues:
            raise InvalidChangeError(change.reference_id, issues)

    def publish(
        self,
        items: Iterable[Change | Mapping[str, Any]],
        *,
        idempotency_key: str | None = None,
    ) -> str:
        """Validate, sign, store and publish ``items`` as one change set; its ``message_id``.

        Returns once the change set is in the outbox and the broker was asked to take it; a
        broker that is down does not lose it (``sisi outbox resend`` or the next publish).
        With ``idempotency_key`` (see the module docstring), a repeated call with the same
        changes returns the first call's ``message_id`` and publishes it again only while it
        has no receipt.
        """
        changes = [item if isinstance(item, Change) else Change(**item) for item in items]
        if not changes:
            raise ValueError("publish necesita al menos un cambio")
        seen: set[str] = set()
        for change in changes:
            self._validate(change)
            if change.reference_id in seen:
                # the hub's idempotency key is (agreement, message, reference): it would refuse
                # the second one (REFERENCIA_REPETIDA)
                raise SisiError(
                    f"la reference_id {change.reference_id} aparece dos veces en el mismo "
                    "conjunto de cambios",
                    field="reference_id",
                    hint="publique cada cambio de una misma reference_id en una llamada aparte "
                    "(p. ej. primero la ALTA, después el PAGO).",
                )
            seen.add(change.reference_id)
        today = date.today()
        encoded: list[bytes] = []
        tails: list[tuple[str, str, bytes]] = []
        for change in changes:
            values = change.values()
            tail = self._codec.encode_tail(values)
            effective = change.effective_date or today
            encoded.append(
                self._codec.encode_item(
                    change.reference_id, change.operation, epoch_days(effective), tail
                )
            )
            tails.append((change.operation, change.reference_id, tail))
        fingerprint = _fingerprint(changes, [tail for _, _, tail in tails])
        if idempotency_key is not None:
            known = self._known_key(idempotency_key, fingerprint)
            if known is not None:
                return known
        message_id = str(uuid.uuid4())
        header = ChangeSetHeader(
            message_id,
            message_id,
            self.agreement.parties.agency.key,
            self.agreement.id,
            datetime.now(UTC),
            0,
            1,
        )
        value = self._codec.frame(header, encoded)
        envelope = seal(self._key, self.agreement.id, message_id, value)
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            if idempotency_key is not None:
                stored = self._stored_key(idempotency_key)
                if stored is not None:  # another process used the key since the look-up above
                    self._conn.execute("ROLLBACK")
                    self._check_fingerprint(idempotency_key, stored, fingerprint)
                    return stored[0]
            try:
                self._outbox.add(
                    envelope, transaction_id=message_id, chunk_index=0, item_count=len(encoded)
                )
                for operation, reference_id, tail in tails:
                    snapshot.record_change(self._conn, operation, reference_id, tail)
                if idempotency_key is not None:
                    self._conn.execute(
                        "INSERT INTO idempotency_keys (key, message_id, fingerprint, created_at) "
                        "VALUES (?, ?, ?, ?)",
                        (idempotency_key, message_id, fingerprint, now_text()),
                    )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._publisher.publish(
                self._topic, self._outbox.unreceipted(message_id), self._outbox.mark_published
            )
        return message_id

    def _stored_key(self, key: str) -> tuple[str, str] | None:
        row = self._conn.execute(
            "SELECT message_id, fingerprint FROM idempotency_keys WHERE key = ?", (key,)
        ).fetchone()
        return None if row is None else (str(row[0]), str(row[1]))

    def _check_fingerprint(self, key: str, known: tuple[str, str], fingerprint: str) -> None:
        if known[1] != fingerprint:
            raise SisiError(
                f"la clave de idempotencia {key!r} ya se usó para otros cambios "
                f"(mensaje {known[0]})",
                field="idempotency_key",
                hint="use una clave distinta para cada cambio; repita la misma clave solo para "
                "reintentar exactamente los mismos cambios.",
            )

    def _known_key(self, key: str, fingerprint: str) -> str | None:
        """The message a key already names (published again while unreceipted), or None."""
        if not key.strip():
            raise SisiError(
                "la clave de idempotencia está vacía",
                field="idempotency_key",
                hint="omita idempotency_key o dé un nombre estable del cambio en su sistema.",
            )
        with self._lock:
            known = self._stored_key(key)
            if known is None:
                return None
            self._check_fingerprint(key, known, fingerprint)
            message_id = known[0]
            self._publisher.publish(
                self._topic, self._outbox.unreceipted(message_id), self._outbox.mark_published
            )
        return message_id

    def publish_change(
        self,
        operation: str,
        *,
        reference_id: str,
        person: Mapping[str, Any] | None = None,
        benefit: Mapping[str, Any] | None = None,
        geography: Mapping[str, Any] | None = None,
        effective_date: date | None = None,
        idempotency_key: str | None = None,
    ) -> str:
        """Publish one change (a change set of one item); its ``message_id``."""
        change = Change(operation, reference_id, person or {}, benefit, geography, effective_date)
        return self.publish([change], idempotency_key=idempotency_key)

    def state(self, message_id: str) -> str | None:
        """The outbox state of a message (PENDIENTE, PUBLICADO, ACEPTADO, PARCIAL, RECHAZADO)."""
        with self._lock:
            return self._outbox.state_of(message_id)

    def wait_receipt(self, message_id: str, timeout: float = 30.0) -> Receipt:
        """The hub's receipt for ``message_id``; ``ReceiptTimeoutError`` if none comes in time."""
        with self._lock:
            found = stored_receipt(self._conn, message_id, self.agreement.id)
            if found is not None:
                return found
            if self._listener is None:
                self._listener = ReceiptListener(self.agreement.id, self.settings, self._conn)
            self._listener.wait_for([message_id], timeout)
            found = stored_receipt(self._conn, message_id, self.agreement.id)
        if found is None:
            raise ReceiptTimeoutError(
                f"sin acuse del hub para {message_id} tras {timeout:g} s",
                hint="el cambio sigue en la bandeja de salida; consulte 'sisi outbox status'.",
            )
        return found

    def resend(self) -> int:
        """Publish again everything without a receipt; how many the broker acknowledged."""
        with self._lock:
            result = self._publisher.publish(
                self._topic, self._outbox.unreceipted(), self._outbox.mark_published
            )
        return result.published

    def close(self) -> None:
        """Flush, stop reading receipts and close the state database."""
        with self._lock:
            self._publisher.close()
            if self._listener is not None:
                self._listener.close()
                self._listener = None
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncAgencyClient:
    """``AgencyClient`` for asyncio: the same calls as coroutines (blocking work in a thread)."""

    def __init__(
        self,
        agreement_id: str,
        private_key: Ed25519PrivateKey,
        *,
        settings: Settings | None = None,
        timeout: float = 30.0,
    ) -> None:
        self._client = AgencyClient(agreement_id, private_key, settings=settings, timeout=timeout)

    async def publish(
        self,
        items: Iterable[Change | Mapping[str, Any]],
        *,
        idempotency_key: str | None = None,
    ) -> str:
        return await asyncio.to_thread(
            self._client.publish, list(items), idempotency_key=idempotency_key
        )

    async def publish_change(self, operation: str, **kwargs: Any) -> str:
        return await asyncio.to_thread(self._client.publish_change, operation, **kwargs)

    async def wait_receipt(self, message_id: str, timeout: float = 30.0) -> Receipt:
        return await asyncio.to_thread(self._client.wait_receipt, message_id, timeout)

    async def resend(self) -> int:
        return await asyncio.to_thread(self._client.resend)

    async def close(self) -> None:
        await asyncio.to_thread(self._client.close)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
