"""Which schema id to write with: the agreement's allowed ChangeSet version, looked up by REST.

The producer never registers schemas: it takes the highest version the agreement allows from the
contract catalog (``avro_schemas/``), asks the hub's Schema Registry for the id under which that
exact schema is registered (``lookup_schema``), and caches the answer per registry and version.
Receipts are decoded the same way: the writer schema for a framed id comes from the registry.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from hub.agreements import Agreement
from hub.contracts import load_catalog, parse_schema
from hub.contracts.schema_text import ParsedSchema
from hub.errors import ContractError
from hub.settings import Settings

__all__ = ["CHANGESET_SUBJECT", "RECEIPT_SUBJECT", "RegisteredContract", "SchemaSource"]

CHANGESET_SUBJECT: Final = "mx.gob.sisi.padron.ChangeSet"
RECEIPT_SUBJECT: Final = "mx.gob.sisi.hub.Receipt"


@dataclass(frozen=True)
class RegisteredContract:
    """A contract version as the registry knows it: subject, version, id and definition."""

    subject: str
    version: int
    schema_id: int
    definition: Any


class SchemaSource:
    """Schema ids and writer schemas from one Schema Registry, cached (thread-safe)."""

    _shared: ClassVar[dict[str, SchemaSource]] = {}
    _shared_lock = threading.Lock()

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url = settings.schema_registry_url
        self._lookups: dict[tuple[str, int], RegisteredContract] = {}
        self._by_id: dict[int, ParsedSchema] = {}
        self._definitions: dict[int, Any] = {}
        self._lock = threading.Lock()
        self._client: Any = None

    @classmethod
    def for_settings(cls, settings: Settings) -> SchemaSource:
        """One cached source per registry URL and contracts directory."""
        key = f"{settings.schema_registry_url}|{settings.schemas_dir}"
        with cls._shared_lock:
            source = cls._shared.get(key)
            if source is None:
                source = cls._shared[key] = cls(settings)
            return source

    def _registry(self) -> Any:
        if self._client is None:
            from confluent_kafka.schema_registry import SchemaRegistryClient

            self._client = SchemaRegistryClient({"url": self.url})
        return self._client

    def changeset_contract(self, agreement: Agreement) -> RegisteredContract:
        """The highest ChangeSet version the agreement allows, with its registered id."""
        allowed = [c for c in agreement.contracts if c.subject == CHANGESET_SUBJECT]
        if not allowed:
            raise ContractError(
                f"el convenio {agreement.id} no permite enviar {CHANGESET_SUBJECT}",
                field="contracts",
                hint="use un convenio de padrón o pida al hub que agregue el contrato.",
            )
        return self.lookup(CHANGESET_SUBJECT, max(allowed[0].versions))

    def lookup(self, subject: str, version: int) -> RegisteredContract:
        """The id under which ``subject`` version ``version`` (from the catalog) is registered."""
        key = (subject, version)
        with self._lock:
            cached = self._lookups.get(key)
        if cached is not None:
            return cached
        from confluent_kafka.schema_registry import Schema
        from confluent_kafka.schema_registry.error import SchemaRegistryError

        schema_version = load_catalog(self.settings.schemas_dir).subject(subject).version(version)
        try:
            found = self._registry().lookup_schema(
                subject, Schema(schema_version.canonical, "AVRO")
            )
        except SchemaRegistryError as exc:
            raise ContractError(
                f"el Schema Registry ({self.url}) no tiene registrada la versión {version} de "
                f"{subject}: {exc.error_message}",
                hint="el operador del hub debe registrar los contratos (sisi schemas register); "
                "el productor nunca registra esquemas.",
            ) from exc
        except Exception as exc:  # connection refused, timeouts: requests/httpx errors
            raise ContractError(
                f"no se pudo consultar el Schema Registry en {self.url}: {exc}",
                hint="verifique SISI_SCHEMA_REGISTRY_URL y que el registro esté en marcha.",
            ) from exc
        contract = RegisteredContract(
            subject, version, int(found.schema_id), schema_version.definition
        )
        with self._lock:
            self._lookups[key] = contract
            self._by_id[contract.schema_id] = parse_schema(schema_version.definition)
            self._definitions[contract.schema_id] = schema_version.definition
        return contract

    def definition(self, schema_id: int) -> Any:
        """The JSON definition registered under ``schema_id`` (``KeyError`` when unknown)."""
        with self._lock:
            known = self._definitions.get(schema_id)
        if known is not None:
            return known
        try:
            schema = self._registry().get_schema(schema_id)
        except Exception as exc:
            raise KeyError(schema_id) from exc
        definition = json.loads(schema.schema_str)
        parsed = parse_schema(definition)
        with self._lock:
            self._definitions[schema_id] = definition
            self._by_id[schema_id] = parsed
        return definition

    def writer_schema(self, schema_id: int) -> ParsedSchema:
        """The parsed schema registered under ``schema_id`` (a ``hub.contracts`` resolver)."""
        with self._lock:
            parsed = self._by_id.get(schema_id)
        if parsed is not None:
            return parsed
        self.definition(schema_id)
        with self._lock:
            return self._by_id[schema_id]
