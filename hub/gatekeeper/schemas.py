"""Schemas from the hub's own registry database: writer schemas by id and the hub's record ids.

Ids are resolved on demand and remembered (an id never changes meaning), so a contract version
registered while the hub runs is usable at once, without a restart. Which (subject, version)
pairs use an id can change (the same schema registered again as a new version, or under another
subject, or a version deleted): ``resolve(id, fresh=True)`` reads them again, as the gatekeeper
does before refusing a version its cache does not allow, and :meth:`StoreSchemas.observe_registry`
(the worker's periodic look at the registry) forgets them all when the registry's versions
changed, so that a deleted version stops being accepted without a restart.

:meth:`StoreSchemas.pinned` tells which exact schema (fingerprint) a contract version stands for:
the first one the audit log recorded for it (``hub.gatekeeper.pins``). Pins found are kept (they
never change); a version without one is looked up again at each ask, which happens only until the
workers' next look at the registry records it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Hashable
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from hub.contracts.schema_text import ParsedSchema, fingerprint, parse_schema
from hub.errors import ContractError
from hub.gatekeeper.pins import PinKey, read_pins
from hub.schema_registry.errors import RegistryError
from hub.schema_registry.store import SchemaStore

__all__ = ["ResolvedSchema", "StoreSchemas"]


@dataclass(frozen=True)
class ResolvedSchema:
    """A writer schema: its id, the (subject, version) pairs that use it, the parsed form and
    its fingerprint (SHA-256 of its canonical form, as the registry and the audit log keep it)."""

    id: int
    versions: tuple[tuple[str, int], ...]
    parsed: ParsedSchema
    fingerprint: str = ""


class StoreSchemas:
    """Resolves schema ids against the registry tables at ``engine`` (thread-safe cache)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._store = SchemaStore(engine)
        self._by_id: dict[int, ResolvedSchema] = {}
        # kept when the versions are forgotten: an id never changes meaning
        self._parsed: dict[int, tuple[ParsedSchema, str]] = {}
        self._pins: dict[PinKey, str] = {}
        self._latest: dict[str, ResolvedSchema] = {}
        self._lock = threading.Lock()
        self._registry_state: Hashable | None = None

    def resolve(self, schema_id: int, *, fresh: bool = False) -> ResolvedSchema:
        """The schema with ``schema_id``; ``KeyError`` when the registry does not have it.

        ``fresh`` reads the versions that use it again (its parsed form stays cached).
        """
        cached = self._by_id.get(schema_id)
        if cached is not None and not fresh:
            return cached
        try:
            known = self._parsed.get(schema_id)
            if known is None:
                canonical = self._store.get_schema(schema_id).schema
                known = (parse_schema(json.loads(canonical)), fingerprint(canonical))
            versions = tuple(self._store.schema_versions(schema_id))
        except RegistryError as exc:
            raise KeyError(schema_id) from exc
        resolved = ResolvedSchema(schema_id, versions, *known)
        with self._lock:
            self._by_id[schema_id] = resolved
            self._parsed[schema_id] = known
        return resolved

    def pinned(self, subject: str, version: int) -> str | None:
        """The fingerprint the audit log first recorded for ``subject`` ``version``; None when
        it recorded none yet (see ``hub.gatekeeper.pins``)."""
        key = (subject, version)
        found = self._pins.get(key)
        if found is not None:
            return found
        with self._engine.connect() as conn:
            pins = read_pins(conn)
        with self._lock:
            self._pins = pins
        return pins.get(key)

    def observe_registry(self, state: Hashable) -> None:
        """Forget which versions use each id (and the latest versions) when ``state`` differs
        from the last one observed; the first observation forgets them too (the cache may be
        older than it). Parsed schemas stay: an id never changes meaning."""
        with self._lock:
            if state != self._registry_state:
                self._by_id = {}
                self._latest = {}
            self._registry_state = state

    def __call__(self, schema_id: int) -> ParsedSchema:
        """The parsed writer schema (``hub.contracts.wire.SchemaResolver`` protocol)."""
        return self.resolve(schema_id).parsed

    def latest(self, subject: str) -> ResolvedSchema:
        """The latest version of one of the hub's own subjects (receipts, quarantine...)."""
        cached = self._latest.get(subject)
        if cached is not None:
            return cached
        try:
            registered = self._store.get_version(subject, "latest")
        except RegistryError as exc:
            raise ContractError(
                f"el registro de esquemas no tiene el subject {subject}",
                hint="siembre el registro con 'sisi schemas register' o inicie el hub con "
                "'sisi hub', que lo siembra desde avro_schemas/",
            ) from exc
        resolved = ResolvedSchema(
            registered.id,
            ((subject, registered.version),),
            parse_schema(json.loads(registered.schema)),
            fingerprint(registered.schema),
        )
        with self._lock:
            self._latest[subject] = resolved
        return resolved
