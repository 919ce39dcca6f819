"""The gatekeeper: decides whether a message from an agency topic gets into the hub, and what.

Pure domain (no Kafka, no writes): :meth:`Gatekeeper.inspect` takes the topic, the exact value
bytes and the headers, and returns a :class:`Verdict`. Set-level checks, in this order, each with
its own reason code: the agreement is known, the topic is that agreement's, the signature is by
the agreement's key (nothing is decoded before this), the agreement is in force, the value is
readable Confluent Avro, its subject and version are allowed, its schema is the exact one the
audit log first recorded for that version (``hub.gatekeeper.pins``: an agreement allows schemas,
named by number), and the body's agreement matches.
Then every item is checked (``hub.gatekeeper.items``).

Agreements reload without a restart: :meth:`Gatekeeper.refresh` re-reads the files whose bytes
changed (at most every ``reload_interval`` seconds); a broken file keeps its previous version in
force while the other files' edits apply.
Schema ids are resolved on demand by the schema source; before refusing a version, the
gatekeeper asks it again which versions use the id (one registered since may allow it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from collections.abc import Hashable, Mapping
from typing import Any, Protocol

from hub.agreements.loader import AgreementSet, BrokenFile
from hub.agreements.model import Agreement
from hub.contracts.wire import WireFormatError, decode, split
from hub.envelope import AGREEMENT_HEADER, MESSAGE_ID_HEADER, verify_with_keys
from hub.errors import AgreementError
from hub.gatekeeper.items import check_items
from hub.gatekeeper.reasons import (
    CONVENIO_DESCONOCIDO,
    CONVENIO_NO_COINCIDE,
    CONVENIO_NO_VIGENTE,
    ESQUEMA_NO_CONVENIDO,
    ESQUEMA_NO_PERMITIDO,
    FIRMA_INVALIDA,
    GATEKEEPER_REASONS,
    MENSAJE_ILEGIBLE,
    TOPICO_INCORRECTO,
    describe,
)
from hub.gatekeeper.schemas import ResolvedSchema
from hub.gatekeeper.verdict import Refusal, Verdict
from hub.registry.items import ChangeItem, ChangeSetHeader
from hub.validation.geography import GeoCatalog

__all__ = ["Gatekeeper", "SchemaSource", "message_identity"]

_log = logging.getLogger(__name__)


class SchemaSource(Protocol):
    """Where writer schemas come from (``hub.gatekeeper.schemas.StoreSchemas``)."""

    def resolve(self, schema_id: int, *, fresh: bool = False) -> ResolvedSchema: ...

    def observe_registry(self, state: Hashable) -> None:
        """What the registry's versions are now; a change makes resolved ids be read again."""
        ...

    def pinned(self, subject: str, version: int) -> str | None:
        """The fingerprint of the schema the audit log first recorded for ``subject``
        ``version`` (None: not recorded yet)."""
        ...


def _text(headers: Mapping[str, bytes], name: str) -> str | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return raw.decode("utf-8").strip() or None
    except UnicodeDecodeError:
        return None


def message_identity(value: bytes, headers: Mapping[str, bytes]) -> tuple[str | None, str]:
    """``(agreement header, message id)``; without a message-id header, a digest of the value."""
    message_id = _text(headers, MESSAGE_ID_HEADER)
    if message_id is None:
        message_id = "sha256:" + hashlib.sha256(value).hexdigest()
    return _text(headers, AGREEMENT_HEADER), message_id


def _report_broken(broken: BrokenFile) -> None:
    if broken.path.suffix not in (".yaml", ".yml"):  # the directory itself
        _log.error(
            "no se pudo releer el directorio de convenios; siguen en vigor los cargados:\n%s",
            broken.error.render(),
        )
    elif broken.previous is not None:
        _log.error(
            "convenio no recargado: %s no carga; sigue en vigor su versión anterior "
            "(%s, sha256 %s) hasta que se corrija:\n%s",
            broken.path,
            broken.previous.agreement.id,
            broken.previous.sha256[:12],
            broken.error.render(),
        )
    else:
        _log.error(
            "convenio no cargado: %s no carga y no está en vigor; corríjalo y se cargará sin "
            "reiniciar el hub:\n%s",
            broken.path,
            broken.error.render(),
        )


class Gatekeeper:
    """Inspects agency messages against the agreements, the contracts and item validation."""

    def __init__(
        self,
        agreements: AgreementSet,
        schema_resolver: SchemaSource,
        geo_catalog: GeoCatalog,
        *,
        today: dt.date | None = None,
        reload_interval: float = 5.0,
    ) -> None:
        self.agreements = agreements
        self.schemas = schema_resolver
        self.catalog = geo_catalog
        self._today = today
        self._reload_interval = reload_interval
        self._checked_at = time.monotonic()
        for broken in agreements.broken:  # at start: files that did not load
            _report_broken(broken)

    def today(self) -> dt.date:
        """The date agreements must be in force on (fixed in tests, else the current day)."""
        return self._today or dt.date.today()

    def refresh(self, *, force: bool = False) -> bool:
        """Reload the agreements whose files changed; True when the agreements in force changed.

        Files are compared by the SHA-256 of their bytes (an edit that keeps size and mtime is
        seen). A file that does not load keeps its previous version in force and is reported once
        per state of its bytes; once more when it loads again. The other files' changes apply.
        """
        now = time.monotonic()
        if not force and now - self._checked_at < self._reload_interval:
            return False
        self._checked_at = now
        result = self.agreements.reload()
        for broken in result.broken:
            _report_broken(broken)
        for path in result.fixed:
            if path.exists():
                _log.warning("convenio corregido: %s vuelve a cargarse", path)
            else:
                _log.warning("convenio con errores retirado del directorio: %s", path)
        if result.changed:
            _log.info("convenios recargados: %s", ", ".join(self.agreements.ids))
        return result.changed

    def inspect(self, topic: str, value: bytes, headers: Mapping[str, bytes]) -> Verdict:
        """The verdict on one message (see the module docstring for the order of checks)."""
        agreement_id, message_id = message_identity(value, headers)

        def refuse(code: str, detail: str | None = None, **extra: Any) -> Verdict:
            text = extra.pop("message", None) or describe(code, detail)
            refusal = Refusal(code, text, extra.pop("field", None))
            return Verdict(agreement_id, message_id, refusal=refusal, **extra)

        if agreement_id is None:
            return refuse(CONVENIO_DESCONOCIDO, "falta el encabezado sisi-agreement")
        try:
            agreement = self.agreements.get(agreement_id)
        except AgreementError:
            return refuse(CONVENIO_DESCONOCIDO, f"'{agreement_id}'")
        if topic != agreement.changes_topic:
            detail = f"llegó a '{topic}', su tema es '{agreement.changes_topic}'"
            return refuse(TOPICO_INCORRECTO, detail, agreement=agreement)
        # Signed by a key valid now (hub clock; the agency's sent_at chooses nothing). Refused
        # unauthenticated: no receipt, no claim, so the re-signed message (same id) gets in.
        signature = verify_with_keys(
            agreement.signing_keys, value, headers, dt.datetime.now(dt.UTC)
        )
        if not signature.ok:
            return refuse(FIRMA_INVALIDA, signature.detail, agreement=agreement)
        today = self.today()
        if not agreement.in_force(today):
            detail = (
                f"estado '{agreement.status}', vigencia {agreement.valid_from.isoformat()} a "
                f"{agreement.valid_until.isoformat()}, hoy {today.isoformat()}"
            )
            header, items, _ = self._try_decode(value)
            return refuse(
                CONVENIO_NO_VIGENTE,
                detail,
                agreement=agreement,
                authenticated=True,
                header=header,
                item_count=len(items),
            )
        try:
            resolved, record = self._decode(value)
            header, items = _header_and_items(record)
        except WireFormatError as exc:
            return refuse(MENSAJE_ILEGIBLE, exc.message, agreement=agreement, authenticated=True)
        known = dict(
            agreement=agreement,
            authenticated=True,
            header=header,
            item_count=len(items),
            subject=resolved.versions[0][0] if resolved.versions else None,
            version=resolved.versions[0][1] if resolved.versions else None,
        )
        if header["item_count"] != len(items) or not items:
            detail = f"item_count dice {header['item_count']} y el arreglo trae {len(items)}"
            return refuse(MENSAJE_ILEGIBLE, detail, **known)
        allowed, agreed = self._allowed(agreement, resolved)
        if not agreed:  # its id may name a version registered since it was first resolved
            resolved = self.schemas.resolve(resolved.id, fresh=True)
            allowed, agreed = self._allowed(agreement, resolved)
            first = resolved.versions[0] if resolved.versions else (None, None)
            known["subject"], known["version"] = first
        if not allowed:
            used = ", ".join(f"{s} v{v}" for s, v in resolved.versions) or (
                f"id {resolved.id}, que ya no es ninguna versión vigente del registro de esquemas "
                "(versión dada de baja)"
            )
            return refuse(ESQUEMA_NO_PERMITIDO, used, **known)
        if not agreed:
            known["subject"], known["version"] = allowed[0]
            text = self._not_agreed(allowed, resolved)
            return refuse(ESQUEMA_NO_CONVENIDO, None, message=text, **known)
        known["subject"], known["version"] = agreed[0]
        if header["agreement_id"] != agreement.id:
            detail = f"el cuerpo dice '{header['agreement_id']}'"
            return refuse(CONVENIO_NO_COINCIDE, detail, field="agreement_id", **known)
        if header["message_id"] != message_id:
            detail = f"el cuerpo dice message_id '{header['message_id']}'"
            return refuse(CONVENIO_NO_COINCIDE, detail, field="message_id", **known)
        checks = check_items(agreement, header, items, self.catalog, today)
        return Verdict(
            agreement_id,
            message_id,
            accepted=checks.accepted,
            rejected=checks.rejected,
            quality=checks.quality,
            **known,  # type: ignore[arg-type]
        )

    def _allowed(
        self, agreement: Agreement, resolved: ResolvedSchema
    ) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
        """The versions naming ``resolved`` that ``agreement`` allows, and those of them whose
        pin is ``resolved``'s schema (or that have no pin yet: see ``hub.gatekeeper.pins``)."""
        allowed = [(s, v) for s, v in resolved.versions if agreement.allows_version(s, v)]
        agreed = [
            (s, v)
            for s, v in allowed
            if (pin := self.schemas.pinned(s, v)) is None or pin == resolved.fingerprint
        ]
        return allowed, agreed

    def _not_agreed(self, allowed: list[tuple[str, int]], resolved: ResolvedSchema) -> str:
        """The text of an ``ESQUEMA_NO_CONVENIDO`` refusal: what changed, then what to do."""
        subject, version = allowed[0]
        pin = self.schemas.pinned(subject, version)
        todo = GATEKEEPER_REASONS[ESQUEMA_NO_CONVENIDO]
        return (
            f"{subject} v{version}: el esquema del mensaje (id {resolved.id}, huella SHA-256 "
            f"{resolved.fingerprint}) no es el que la bitácora del hub registró para esa versión "
            f"(huella {pin}); el registro de esquemas dio ese número a otro esquema (tras un "
            f"borrado definitivo de la versión, o por una edición directa de sus tablas). "
            f"{todo[0].upper()}{todo[1:]}"
        )

    def _decode(self, value: bytes) -> tuple[ResolvedSchema, Any]:
        schema_id, _ = split(value)
        try:
            resolved = self.schemas.resolve(schema_id)
        except KeyError:
            raise WireFormatError(f"id de esquema {schema_id} desconocido en el registro") from None
        return resolved, decode(value, {schema_id: resolved.parsed})

    def _try_decode(
        self, value: bytes
    ) -> tuple[ChangeSetHeader | None, list[ChangeItem], ResolvedSchema | None]:
        """Decode for the receipt of a refused, authenticated message; nothing when unreadable."""
        try:
            resolved, record = self._decode(value)
            header, items = _header_and_items(record)
        except (WireFormatError, KeyError, TypeError):
            return None, [], None
        return header, items, resolved

    def agreement(self, agreement_id: str) -> Agreement | None:
        """The agreement ``agreement_id`` if known."""
        return self.agreements.get(agreement_id) if agreement_id in self.agreements else None


def _header_and_items(record: Any) -> tuple[ChangeSetHeader, list[ChangeItem]]:
    if not isinstance(record, dict) or "items" not in record or "message_id" not in record:
        raise WireFormatError("el registro no es un conjunto de cambios (faltan items)")
    items = list(record["items"])
    header: ChangeSetHeader = {
        "message_id": record["message_id"],
        "transaction_id": record["transaction_id"],
        "sender_id": record["sender_id"],
        "agreement_id": record["agreement_id"],
        "sent_at": record["sent_at"],
        "chunk_index": record["chunk_index"],
        "chunk_count": record["chunk_count"],
        "item_count": record["item_count"],
    }
    return header, items
